//! The body scale: vesicle counts per organ over time (`timeseries.csv`),
//! pharmacokinetics and shares of the dose per organ (`summary.json`).

use std::path::Path;

use exosim::units::{Dimension, HOUR};
use plotly::Plot;
use serde_json::Value;

use crate::chart::{self, Axes, Bars, Dash, Series, colour};
use crate::check;
use crate::error::ReportError;
use crate::format::{f, human, num, pct, s};
use crate::page::Section;
use crate::table::read_numeric;

/// Places that are not in the body at the end (shown apart from organs).
const GONE: [&str; 2] = ["cleared", "degraded"];

/// Places shown per class in the summary, besides the organs its ligands target.
pub const TOP_PLACES: usize = 4;

/// µL/min per m³/s: the reader's unit of clearance.
const UL_PER_MIN: f64 = 6e10;
/// Per mL per per m³: the reader's unit of concentration.
const PER_ML: f64 = 1e-6;

/// The organs that a targeting ligand of `class` acts on in `arm`, with the
/// ligand: the class's ligands (`resolved_study.vesicles[].ligands`) looked
/// up in the affinity tables of the study's body and of the arm's own body
/// (`body.affinity.LIGAND.ORGAN`, positive entries).
pub fn ligand_organs(study: &Value, arm: &str, class: &str) -> Vec<(String, String)> {
    let ligands: Vec<String> = study
        .get("vesicles")
        .and_then(Value::as_array)
        .and_then(|v| {
            v.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(class))
        })
        .and_then(|c| c.get("ligands"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, d)| d.as_f64().is_some_and(|d| d > 0.0))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let arm_body = study
        .get("arms")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(arm))
        })
        .and_then(|a| a.get("body"));
    let mut out: Vec<(String, String)> = Vec::new();
    for body in [study.get("body"), arm_body].into_iter().flatten() {
        for l in &ligands {
            let Some(table) = body
                .get("affinity")
                .and_then(|a| a.get(l))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (organ, a) in table {
                if a.as_f64().is_some_and(|a| a > 0.0) && !out.iter().any(|(o, _)| o == organ) {
                    out.push((organ.clone(), l.clone()));
                }
            }
        }
    }
    out
}

/// One `{arm}/{place}/{class}` column.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Arm.
    pub arm: String,
    /// Organ, blood, depot, `cleared` or `degraded`.
    pub place: String,
    /// Vesicle class.
    pub class: String,
    /// Vesicles at each output time.
    pub counts: Vec<f64>,
}

/// One arm and class of `summary.json`'s `vesicles`.
#[derive(Debug, Clone)]
pub struct ClassView {
    /// Arm.
    pub arm: String,
    /// Vesicle class.
    pub class: String,
    /// The summary object itself (PK figures, shares, peaks).
    pub json: Value,
}

/// What the body engine wrote.
#[derive(Debug, Clone)]
pub struct BodyOutputs {
    /// Output times (s).
    pub times: Vec<f64>,
    /// Every series of `timeseries.csv`.
    pub curves: Vec<Curve>,
    /// Per arm and class, from `summary.json`.
    pub classes: Vec<ClassView>,
    /// Report times (s) at which shares of the dose were recorded.
    pub report_times: Vec<f64>,
    /// Effect responses (`ARM/effect/NAME` columns), with their unit from
    /// summary.json's `effects`.
    pub effects: Vec<EffectCurve>,
}

/// One effect's response in one arm.
#[derive(Debug, Clone)]
pub struct EffectCurve {
    /// Arm name.
    pub arm: String,
    /// Effect name.
    pub effect: String,
    /// Unit of the response.
    pub unit: String,
    /// Response at each output time.
    pub values: Vec<f64>,
}

/// Columns of effects in `timeseries.csv`: `ARM/effect/NAME` and the
/// concentration driving it, `ARM/exposure/NAME`; and of release
/// inhibitors, `ARM/drug_concentration/DRUG` and `ARM/release_factor/DRUG`:
/// not vesicle counts.
fn is_effect_column(name: &str) -> bool {
    matches!(
        name.split('/').nth(1),
        Some("effect" | "exposure" | "drug_concentration" | "release_factor")
    )
}

/// The effect responses of the table, with units from the summary.
fn effect_curves(table: &exosim::output::Table, summary: &Value) -> Vec<EffectCurve> {
    let unit_of = |effect: &str| {
        summary
            .get("effects")
            .and_then(Value::as_array)
            .and_then(|l| l.iter().find(|e| s(e, "effect") == effect))
            .map(|e| s(e, "unit").to_string())
            .unwrap_or_default()
    };
    table
        .columns
        .iter()
        .filter_map(|c| {
            let mut parts = c.name.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(arm), Some("effect"), Some(effect)) => Some(EffectCurve {
                    arm: arm.into(),
                    effect: effect.into(),
                    unit: unit_of(effect),
                    values: c.values.clone(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// How far below zero a count may lie, in units of the solver's absolute
/// tolerance for its class (`atol_fraction` × what entered): a BDF
/// solution may undershoot zero by about its absolute tolerance, never by
/// ten times it.
const UNDERSHOOT: f64 = 10.0;

/// `timeseries.csv` against what a run writes: times from 0, ascending, up
/// to the study's duration; every column an arm and class of the summary
/// and every such pair with its blood column; finite counts, none below
/// zero by more than the solver could leave.
fn check_series(
    path: &Path,
    summary: &Value,
    times: &[f64],
    curves: &[Curve],
    classes: &[ClassView],
) -> Result<(), ReportError> {
    check::column(path, "time_s", times, 2, check::Rule::AtLeast(0.0))?;
    check::ascending(path, "time_s", times, 2)?;
    if let (Some(end), Some(&last)) = (check::duration(summary), times.last())
        && (last - end).abs() > 1e-9 * end.max(1.0)
    {
        return Err(check::invalid(
            path,
            Some(times.len() + 1),
            "time_s",
            format!(
                "the last row is at {last} s, but the study runs {end} s: the file is cut short"
            ),
        ));
    }
    let atol = summary
        .pointer("/resolved_study/solver/atol_fraction")
        .and_then(Value::as_f64)
        .unwrap_or(1e-12);
    for c in curves {
        let name = format!("{}/{}/{}", c.arm, c.place, c.class);
        let Some(view) = classes
            .iter()
            .find(|v| v.arm == c.arm && v.class == c.class)
        else {
            return Err(check::invalid(
                path,
                Some(1),
                &name,
                "no arm and class of this name in summary.json's `vesicles`",
            ));
        };
        let input = f(&view.json, "dosed")
            + f(&view.json, "released")
            + view
                .json
                .get("drained_in_from_tissue")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
        let floor = -UNDERSHOOT * atol * input.max(1.0);
        check::column(path, &name, &c.counts, 2, check::Rule::Finite)?;
        for (i, &v) in c.counts.iter().enumerate() {
            if v < floor {
                return Err(check::invalid(
                    path,
                    Some(i + 2),
                    &name,
                    format!(
                        "{v} vesicles: a count cannot be negative (the solver leaves at most {} near zero)",
                        crate::format::num(-floor)
                    ),
                ));
            }
        }
    }
    for v in classes {
        let name = format!("{}/blood/{}", v.arm, v.class);
        if !curves
            .iter()
            .any(|c| c.arm == v.arm && c.class == v.class && c.place == "blood")
        {
            return Err(check::invalid(
                path,
                Some(1),
                &name,
                "column missing: summary.json lists this arm and class",
            ));
        }
    }
    Ok(())
}

impl BodyOutputs {
    /// Reads the body outputs when `summary.json` lists arms; `None` for a
    /// run without a body section.
    pub fn load(dir: &Path, summary: &Value) -> Result<Option<Self>, ReportError> {
        let Some(list) = summary.get("vesicles").and_then(Value::as_array) else {
            return Ok(None);
        };
        if list.is_empty() {
            return Ok(None);
        }
        let path = dir.join("timeseries.csv");
        if !path.is_file() {
            return Err(ReportError::MissingFile {
                path,
                why: format!("summary.json lists {} arm/class result(s)", list.len()),
            });
        }
        let table = read_numeric(&path)?;
        let times = table
            .column("time_s")
            .ok_or_else(|| ReportError::Invalid {
                path: path.clone(),
                row: Some(1),
                column: Some("time_s".into()),
                message: "required column missing".into(),
            })?
            .values
            .clone();
        let curves: Vec<Curve> = table
            .columns
            .iter()
            .filter(|c| !is_effect_column(&c.name))
            .filter_map(|c| {
                let mut parts = c.name.splitn(3, '/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(arm), Some(place), Some(class)) => Some(Curve {
                        arm: arm.into(),
                        place: place.into(),
                        class: class.into(),
                        counts: c.values.clone(),
                    }),
                    _ => None,
                }
            })
            .collect();
        let classes: Vec<ClassView> = list
            .iter()
            .map(|v| ClassView {
                arm: s(v, "arm").to_string(),
                class: s(v, "vesicles").to_string(),
                json: v.clone(),
            })
            .collect();
        check_series(&path, summary, &times, &curves, &classes)?;
        let mut report_times: Vec<f64> = classes
            .iter()
            .flat_map(|c| {
                c.json
                    .get("fraction_of_dose")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.keys()
                            .filter_map(|k| k.parse().ok())
                            .collect::<Vec<f64>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        report_times.sort_by(f64::total_cmp);
        report_times.dedup();
        let effects = effect_curves(&table, summary);
        Ok(Some(BodyOutputs {
            times,
            curves,
            classes,
            report_times,
            effects,
        }))
    }

    /// (arm, class) pairs in file order.
    fn arm_classes(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for c in &self.curves {
            let key = (c.arm.clone(), c.class.clone());
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }

    fn curve(&self, arm: &str, place: &str, class: &str) -> Option<&Curve> {
        self.curves
            .iter()
            .find(|c| c.arm == arm && c.place == place && c.class == class)
    }

    /// Places in file order (blood first, as the library writes them).
    fn places(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.curves {
            if !out.contains(&c.place) {
                out.push(c.place.clone());
            }
        }
        out
    }

    /// The pharmacokinetics table of the summary: amounts and blood
    /// kinetics per arm and class, in the reader's units (min or h, µL/min).
    pub fn key_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .classes
            .iter()
            .map(|c| {
                let pk = c.json.get("pk").cloned().unwrap_or(Value::Null);
                vec![
                    c.arm.clone(),
                    c.class.clone(),
                    num(f(&c.json, "dosed") + f(&c.json, "released").max(0.0)),
                    human(f(&pk, "initial_half_life_s"), Dimension::Time),
                    human(f(&pk, "terminal_half_life_s"), Dimension::Time),
                    human(f(&pk, "mrt_s"), Dimension::Time),
                    num(f(&pk, "clearance_m3_per_s") * UL_PER_MIN),
                ]
            })
            .collect();
        let headers = vec![
            "arm",
            "vesicles",
            "dosed + released",
            "t½ initial",
            "t½ terminal",
            "MRT",
            "CL (µL/min)",
        ];
        (headers, rows)
    }

    /// The places shown for a class in [`BodyOutputs::destination_table`]:
    /// the [`TOP_PLACES`] places holding or having taken up the largest
    /// share at any report time, then every organ a targeting ligand of the
    /// class names (marked), whatever its share.
    pub fn destinations(&self, c: &ClassView, study: &Value) -> Vec<(String, Option<String>)> {
        let share = |key: &str, t: &str, place: &str| {
            c.json
                .get(key)
                .and_then(|m| m.get(t))
                .and_then(|m| m.get(place))
                .and_then(Value::as_f64)
        };
        let mut best: Vec<(String, f64)> = Vec::new();
        for t in &self.report_times {
            let t = format!("{t}");
            let Some(m) = c.json.get("fraction_of_dose").and_then(|m| m.get(&t)) else {
                continue;
            };
            for place in m.as_object().into_iter().flatten().map(|(k, _)| k) {
                let v = share("fraction_of_dose", &t, place)
                    .unwrap_or(0.0)
                    .max(share("fraction_delivered", &t, place).unwrap_or(0.0));
                match best.iter_mut().find(|(p, _)| p == place) {
                    Some(b) => b.1 = b.1.max(v),
                    None => best.push((place.clone(), v)),
                }
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut out: Vec<(String, Option<String>)> = best
            .into_iter()
            .filter(|(_, v)| *v > 0.0)
            .take(TOP_PLACES)
            .map(|(p, _)| (p, None))
            .collect();
        for (organ, ligand) in ligand_organs(study, &c.arm, &c.class) {
            match out.iter_mut().find(|(p, _)| *p == organ) {
                Some(entry) => entry.1 = Some(ligand),
                None => out.push((organ, Some(ligand))),
            }
        }
        out
    }

    /// Where each class goes: for every arm and class, the places of
    /// [`BodyOutputs::destinations`], with the share of the dose present
    /// there and (organs) the share delivered to the organ's tissue by
    /// each report time.
    pub fn destination_table(&self, study: &Value) -> (Vec<String>, Vec<Vec<String>>) {
        let mut headers: Vec<String> = ["arm", "vesicles", "place"].map(String::from).to_vec();
        for &t in &self.report_times {
            let when = human(t, Dimension::Time);
            headers.push(format!("present at {when}"));
            headers.push(format!("delivered by {when}"));
        }
        let mut rows = Vec::new();
        for c in &self.classes {
            for (place, ligand) in self.destinations(c, study) {
                let mut row = vec![
                    c.arm.clone(),
                    c.class.clone(),
                    match ligand {
                        Some(l) => format!("{place} ({l} target)"),
                        None => place.clone(),
                    },
                ];
                for t in &self.report_times {
                    let t = format!("{t}");
                    let get = |key: &str| {
                        c.json
                            .get(key)
                            .and_then(|m| m.get(&t))
                            .and_then(|m| m.get(&place))
                            .and_then(Value::as_f64)
                            .map(pct)
                            .unwrap_or_else(|| "—".into())
                    };
                    row.push(get("fraction_of_dose"));
                    row.push(get("fraction_delivered"));
                }
                rows.push(row);
            }
        }
        (headers, rows)
    }

    /// Time axis unit for these outputs.
    fn time_axis(&self) -> (&'static str, f64) {
        chart::time_unit(self.times.last().copied().unwrap_or(1.0))
    }

    /// Vesicles in blood for every arm and class: the curve readers look for first.
    pub fn blood_figure(&self) -> (Plot, Option<chart::LogRange>) {
        let (unit, scale) = self.time_axis();
        let t: Vec<f64> = self.times.iter().map(|x| x / scale).collect();
        let series = self
            .arm_classes()
            .iter()
            .enumerate()
            .filter_map(|(i, (arm, class))| {
                self.curve(arm, "blood", class).map(|c| {
                    Series::styled(format!("{arm} · {class}"), t.clone(), c.counts.clone(), i)
                })
            })
            .collect::<Vec<Series>>();
        let range = chart::series_log_range(&series);
        let plot = chart::lines(
            &Axes::linear(format!("time ({unit})"), "vesicles in blood").log_y(),
            series,
            "blood",
        );
        (plot, range)
    }

    /// The body section: curves per arm, shares of the dose, mass balance.
    pub fn section(&self, summary: &Value) -> Section {
        let mut sec = Section::new("body", "Body: circulation and biodistribution");
        let places = self.places();
        self.place_plots(&mut sec, &places);
        self.dose_share_plots(&mut sec, &places);
        self.effect_plots(&mut sec);
        self.balance_tables(&mut sec, summary);
        sec
    }

    /// Each effect's response over time, one line per arm.
    fn effect_plots(&self, sec: &mut Section) {
        let mut names: Vec<&str> = self.effects.iter().map(|e| e.effect.as_str()).collect();
        names.dedup();
        if names.is_empty() {
            return;
        }
        let (unit, scale) = self.time_axis();
        let t: Vec<f64> = self.times.iter().map(|x| x / scale).collect();
        sec.heading("Effects of the exposure");
        sec.begin_row();
        for name in names {
            let curves: Vec<&EffectCurve> =
                self.effects.iter().filter(|e| e.effect == name).collect();
            let series = curves
                .iter()
                .enumerate()
                .map(|(i, e)| Series::styled(e.arm.clone(), t.clone(), e.values.clone(), i))
                .collect();
            let y = format!("{name} ({})", curves[0].unit);
            sec.plot(
                name,
                &format!("Effect `{name}` per arm (summary.json `effects`; timeseries.csv `ARM/effect/{name}`)."),
                &chart::lines(
                    &Axes::linear(format!("time ({unit})"), y),
                    series,
                    &format!("effect_{name}"),
                ),
            );
        }
        sec.end_row();
    }

    /// Vesicles per place over time, one plot per arm and class.
    fn place_plots(&self, sec: &mut Section, places: &[String]) {
        let (unit, scale) = self.time_axis();
        let t: Vec<f64> = self.times.iter().map(|x| x / scale).collect();
        let thinned = self.times.len() > chart::MAX_POINTS;
        let note = if thinned {
            format!(
                " Curves thinned for the page to at most {} points (the extremes of each slice kept); timeseries.csv holds all {} output times.",
                chart::MAX_POINTS,
                self.times.len()
            )
        } else {
            String::new()
        };
        sec.heading("Where the vesicles are, over time");
        sec.begin_row();
        for (arm, class) in self.arm_classes() {
            let top = places
                .iter()
                .filter_map(|p| self.curve(&arm, p, &class))
                .flat_map(|c| c.counts.iter().copied())
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let series: Vec<Series> = places
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let c = self.curve(&arm, p, &class)?;
                    // A place never reached (an unused depot, or one that only
                    // solver rounding touched) only clutters the legend.
                    let reached = c
                        .counts
                        .iter()
                        .any(|&v| v >= top * chart::LOG_FLOOR && v > 0.0);
                    reached.then(|| {
                        // Styles follow the place, so that a place looks the same in every arm.
                        let mut s = Series::styled(p.clone(), t.clone(), c.counts.clone(), i);
                        if GONE.contains(&p.as_str()) {
                            s.dash = Dash::Dash;
                        }
                        s
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let clamp = chart::log_note(chart::series_log_range(&series));
            sec.plot(
                &format!("{arm} · {class}"),
                &format!(
                    "Vesicles per place ({class}, arm {arm}); cleared and degraded (dashed) are cumulative. Log scale; places never reached (or holding only solver rounding, below 10⁻⁹ of the largest count) are left out.{clamp}{note}"
                ),
                &chart::lines(
                    &Axes::linear(format!("time ({unit})"), "vesicles").log_y(),
                    series,
                    &format!("places_{arm}_{class}"),
                ),
            );
        }
        sec.end_row();
    }

    /// The share of the dose per place at each report time.
    fn dose_share_plots(&self, sec: &mut Section, places: &[String]) {
        if !self.report_times.is_empty() {
            sec.heading("Share of the dose per place at the report times");
            sec.begin_row();
            for &t in &self.report_times {
                let key = format!("{t}");
                let mut groups = Vec::new();
                for (i, c) in self.classes.iter().enumerate() {
                    let Some(m) = c.json.get("fraction_of_dose").and_then(|m| m.get(&key)) else {
                        continue;
                    };
                    let mut order: Vec<String> = places
                        .iter()
                        .filter(|p| m.get(p.as_str()).is_some())
                        .cloned()
                        .collect();
                    if let Some(obj) = m.as_object() {
                        for k in obj.keys() {
                            if !order.contains(k) {
                                order.push(k.clone());
                            }
                        }
                    }
                    let y = order
                        .iter()
                        .map(|p| 100.0 * m.get(p).and_then(Value::as_f64).unwrap_or(f64::NAN))
                        .collect();
                    groups.push(Bars {
                        name: format!("{} · {}", c.arm, c.class),
                        x: order,
                        y,
                        error: None,
                        colour: colour(i).to_string(),
                    });
                }
                if groups.is_empty() {
                    continue;
                }
                let clamp = chart::log_note(chart::bars_log_range(&groups));
                sec.plot(
                    &format!("Share of the dose at {}", human(t, Dimension::Time)),
                    &format!("Percentage of the vesicles dosed and released that are in each place (cleared and degraded: cumulative). Linear scale; the log button keeps nine decades.{clamp}"),
                    &chart::bars(
                        &Axes::linear("place", "% of dose").toggle_y(),
                        groups,
                        Vec::new(),
                        &format!("fraction_of_dose_{t}s"),
                    ),
                );
            }
            sec.end_row();
        }
    }

    /// The mass balance and the blood PK table.
    fn balance_tables(&self, sec: &mut Section, summary: &Value) {
        sec.heading("Mass balance");
        if let Some(mb) = summary.get("mass_balance") {
            sec.table(
                &[
                    "dosed",
                    "released",
                    "present",
                    "cleared",
                    "degraded",
                    "largest relative error",
                ],
                &[vec![
                    num(f(mb, "dosed")),
                    num(f(mb, "released")),
                    num(f(mb, "present")),
                    num(f(mb, "cleared")),
                    num(f(mb, "degraded")),
                    num(f(mb, "relative_error")),
                ]],
            );
        }
        let mut rows = Vec::new();
        for c in &self.classes {
            let pk = c.json.get("pk").cloned().unwrap_or(Value::Null);
            rows.push(vec![
                c.arm.clone(),
                c.class.clone(),
                num(f(&pk, "c_max") * PER_ML),
                num(f(&pk, "auc_inf") * PER_ML / HOUR),
                num(f(&pk, "lambda_z_r2_adjusted")),
                pct(f(&pk, "auc_extrapolated_fraction")),
                num(f(&pk, "vss_m3") * 1e6),
                num(f(&c.json, "mass_balance_relative_error")),
            ]);
        }
        sec.heading("Pharmacokinetics (blood), per arm and class");
        sec.table(
            &[
                "arm",
                "vesicles",
                "Cmax (/mL)",
                "AUC∞ (h/mL)",
                "λz adj. R²",
                "AUC extrapolated",
                "Vss (mL)",
                "mass balance error",
            ],
            &rows,
        );
    }
}
