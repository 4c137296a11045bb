//! The body scale: vesicle counts per organ over time (`timeseries.csv`),
//! pharmacokinetics and shares of the dose per organ (`summary.json`).

use std::path::Path;

use exosim::units::Dimension;
use plotly::Plot;
use serde_json::Value;

use crate::chart::{self, Axes, Bars, Series, colour};
use crate::error::ReportError;
use crate::format::{f, human, num, pct, s};
use crate::page::Section;
use crate::table::read_numeric;

/// Places that are not in the body at the end (shown apart from organs).
const GONE: [&str; 2] = ["cleared", "degraded"];

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
        let curves = table
            .columns
            .iter()
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
        Ok(Some(BodyOutputs {
            times,
            curves,
            classes,
            report_times,
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

    /// The pharmacokinetics table of the summary.
    pub fn key_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let first = self.report_times.first().copied();
        let rows = self
            .classes
            .iter()
            .map(|c| {
                let pk = c.json.get("pk").cloned().unwrap_or(Value::Null);
                let share = |place: &str| {
                    first
                        .and_then(|t| {
                            c.json
                                .get("fraction_of_dose")
                                .and_then(|m| m.get(format!("{t}")))
                                .and_then(|m| m.get(place))
                                .and_then(Value::as_f64)
                        })
                        .map(pct)
                        .unwrap_or_else(|| "—".into())
                };
                vec![
                    c.arm.clone(),
                    c.class.clone(),
                    num(f(&c.json, "dosed") + f(&c.json, "released").max(0.0)),
                    human(f(&pk, "initial_half_life_s"), Dimension::Time),
                    human(f(&pk, "terminal_half_life_s"), Dimension::Time),
                    human(f(&pk, "mrt_s"), Dimension::Time),
                    human(f(&pk, "clearance_m3_per_s"), Dimension::Flow),
                    share("blood"),
                    share("liver"),
                    share("spleen"),
                    share("lungs"),
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
            "CL",
            "blood",
            "liver",
            "spleen",
            "lungs",
        ];
        (headers, rows)
    }

    /// Time axis unit for these outputs.
    fn time_axis(&self) -> (&'static str, f64) {
        chart::time_unit(self.times.last().copied().unwrap_or(1.0))
    }

    /// Vesicles in blood for every arm and class: the curve readers look for first.
    pub fn blood_figure(&self) -> Plot {
        let (unit, scale) = self.time_axis();
        let t: Vec<f64> = self.times.iter().map(|x| x / scale).collect();
        let series = self
            .arm_classes()
            .iter()
            .enumerate()
            .filter_map(|(i, (arm, class))| {
                self.curve(arm, "blood", class).map(|c| {
                    Series::new(
                        format!("{arm} · {class}"),
                        t.clone(),
                        c.counts.clone(),
                        colour(i),
                    )
                })
            })
            .collect();
        chart::lines(
            &Axes::linear(format!("time ({unit})"), "vesicles in blood").log_y(),
            series,
            "blood",
        )
    }

    /// The body section: curves per arm, shares of the dose, mass balance.
    pub fn section(&self, summary: &Value) -> Section {
        let mut sec = Section::new("body", "Body: circulation and biodistribution");
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
        let places = self.places();
        sec.heading("Where the vesicles are, over time");
        sec.begin_row();
        for (arm, class) in self.arm_classes() {
            let series: Vec<Series> = places
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let c = self.curve(&arm, p, &class)?;
                    // A place never reached (an unused depot) only clutters the legend.
                    c.counts.iter().any(|&v| v > 0.0).then(|| {
                        let mut s = Series::new(p.clone(), t.clone(), c.counts.clone(), colour(i));
                        s.dashed = GONE.contains(&p.as_str());
                        s
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            sec.plot(
                &format!("{arm} · {class}"),
                &format!(
                    "Vesicles per place ({class}, arm {arm}); cleared and degraded (dashed) are cumulative. Log scale; places never reached are left out.{note}"
                ),
                &chart::lines(
                    &Axes::linear(format!("time ({unit})"), "vesicles").log_y(),
                    series,
                    &format!("places_{arm}_{class}"),
                ),
            );
        }
        sec.end_row();
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
                sec.plot(
                    &format!("Share of the dose at {}", human(t, Dimension::Time)),
                    "Percentage of the vesicles dosed and released that are in each place (cleared and degraded: cumulative).",
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
                num(f(&pk, "c_max")),
                num(f(&pk, "auc_inf")),
                num(f(&pk, "lambda_z_r2_adjusted")),
                pct(f(&pk, "auc_extrapolated_fraction")),
                human(f(&pk, "vss_m3"), Dimension::Volume),
                num(f(&c.json, "mass_balance_relative_error")),
            ]);
        }
        sec.heading("Pharmacokinetics (blood), per arm and class");
        sec.table(
            &[
                "arm",
                "vesicles",
                "Cmax (/m³)",
                "AUC∞ (s/m³)",
                "λz adj. R²",
                "AUC extrapolated",
                "Vss",
                "mass balance error",
            ],
            &rows,
        );
        sec
    }
}
