//! Tissue observables: one column of the tissue's time series
//! (`tissue_timeseries.csv`, [`crate::tissue::observe::Recorder`]) at one
//! output time, over the replicates of one variant (in one arm, when
//! several body arms hold copies of the tissue), combined by a
//! [`Statistic`] with the [`Spread`] the tissue summary uses.

use super::{Kind, ObservableSpec, Statistic, Table, on_grid, pick};
use crate::coupling::tissue_section::Spread;
use crate::run::RunResult;
use crate::scenario::{Study, StudyError};
use crate::tissue::model::TissueModel;
use crate::tissue::observe::{PLACES, Recorder};
use crate::units::Dimension;

/// A tissue observable resolved against its study.
#[derive(Debug, Clone)]
pub struct Target {
    kind: Kind,
    /// The coupled arm whose copies are read, when several arms hold the
    /// tissue.
    arm: Option<String>,
    variant: String,
    statistic: Statistic,
    /// Column of the recorder read.
    column: String,
    /// Output time read, s; the end when `None`.
    time: Option<f64>,
    /// Transport step, s: a row's time is its output time rounded to it.
    dt: f64,
}

/// Resolves a tissue observable: the variant, the column its cell type,
/// state, molecule or vesicle fate names, and the time on the tissue's
/// output grid.
pub(super) fn resolve(
    spec: &ObservableSpec,
    study: &Study,
    p: &Table,
) -> Result<(Target, String), StudyError> {
    let Some(model) = study.tissue.as_ref() else {
        return Err(p.error(
            "kind",
            format!(
                "kind `{}` reads the tissue, and the study has no `[tissue]` section",
                spec.kind.about().name
            ),
            Some("choose a study with `[tissue]`, or a body or biopsy observable".into()),
        ));
    };
    let variants: Vec<&str> = model.variants.iter().map(|v| v.name.as_str()).collect();
    let v = pick(p, "variant", "variant", spec.variant.as_deref(), &variants)?;
    let arm = match &model.coupling {
        Some(c) if c.per_arm() => {
            let names: Vec<&str> = c
                .arms
                .iter()
                .map(|a| study.arms[a.arm].name.as_str())
                .collect();
            let a = pick(p, "arm", "coupled arm", spec.arm.as_deref(), &names)?;
            Some(names[a].to_string())
        }
        _ => None,
    };
    let column = column(spec, model, p)?;
    let time = match spec.time {
        Some(t) => Some(on_grid(
            p,
            "time",
            t.si(),
            &model.output_times,
            Dimension::Time,
            "tissue's output times",
        )?),
        None => None,
    };
    let target = Target {
        kind: spec.kind,
        arm,
        variant: variants[v].to_string(),
        statistic: spec.statistic.unwrap_or_default(),
        column,
        time,
        dt: model.dt,
    };
    let description = target.describe();
    Ok((target, description))
}

/// The recorder's column the kind reads.
fn column(spec: &ObservableSpec, model: &TissueModel, p: &Table) -> Result<String, StudyError> {
    let kind = spec.kind;
    if kind == Kind::TissueVesicles {
        let classes: Vec<&str> = model.vesicles.iter().map(|c| c.name.as_str()).collect();
        let c = pick(
            p,
            "vesicles",
            "tissue vesicle class",
            spec.vesicles.as_deref(),
            &classes,
        )?;
        let place = super::need(p, "place", &spec.place, kind)?;
        let f = pick(p, "place", "vesicle fate", Some(place), &PLACES)?;
        return Ok(format!("vesicles_{}_{}", classes[c], PLACES[f]));
    }
    let types: Vec<&str> = model.cell_types.iter().map(|t| t.name.as_str()).collect();
    let cell_type = super::need(p, "cell_type", &spec.cell_type, kind)?;
    let t = pick(p, "cell_type", "cell type", Some(cell_type), &types)?;
    let name = types[t];
    Ok(match kind {
        Kind::StateMean => {
            let vars: Vec<&str> = model.cell_types[t]
                .state
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            let state = super::need(p, "state", &spec.state, kind)?;
            let s = pick(
                p,
                "state",
                &format!("state variable of `{name}`"),
                Some(state),
                &vars,
            )?;
            format!("state_{name}_{}_mean", vars[s])
        }
        Kind::CargoHeld => {
            let molecules: Vec<&str> = model.molecules.iter().map(String::as_str).collect();
            let molecule = super::need(p, "molecule", &spec.molecule, kind)?;
            let m = pick(p, "molecule", "cargo molecule", Some(molecule), &molecules)?;
            format!("held_{name}_{}_mean", molecules[m])
        }
        Kind::Kills => format!("kills_{name}"),
        Kind::Uptakes => format!("uptakes_{name}"),
        Kind::Deaths => format!("deaths_{name}"),
        Kind::Divisions => format!("divisions_{name}"),
        _ => format!("cells_{name}"),
    })
}

impl Target {
    fn describe(&self) -> String {
        let at = match self.time {
            Some(t) => crate::units::format_human(t, Dimension::Time),
            None => "the end".into(),
        };
        let arm = match &self.arm {
            Some(a) => format!(" in arm {a}"),
            None => String::new(),
        };
        format!(
            "{}: {}; column {} at {at}; {} over the replicates of variant {}{arm}",
            self.kind.about().name,
            self.kind.about().definition,
            self.column,
            self.statistic.name(),
            self.variant
        )
    }

    /// The same observable read at output time `t`.
    pub(super) fn at_time(&self, t: f64) -> Target {
        Target {
            time: Some(t),
            ..self.clone()
        }
    }

    /// The output times of the variant's first replicate in `result`.
    pub(super) fn times(&self, result: &RunResult) -> Vec<f64> {
        result
            .tissue
            .iter()
            .find(|r| self.reads(r))
            .map_or_else(Vec::new, |r| {
                r.record.rows.iter().map(|row| row[0]).collect()
            })
    }

    /// The statistic over the variant's replicates of the column at the
    /// time; NaN when the run has no replicate of the variant, when a
    /// replicate's value is NaN (a mean over a type with no cell), and for
    /// a fold change of a type with no cell at the start.
    pub(super) fn evaluate(&self, result: &RunResult) -> f64 {
        let values: Vec<f64> = result
            .tissue
            .iter()
            .filter(|r| self.reads(r))
            .map(|r| self.value(&r.record))
            .collect();
        if values.is_empty() {
            return f64::NAN;
        }
        let s = Spread::of(values);
        match self.statistic {
            Statistic::Mean => s.mean,
            Statistic::Sd => s.sd,
            Statistic::Min => s.min,
            Statistic::Max => s.max,
        }
    }

    /// Whether `run` is one of the replicates read: of the variant, in the
    /// arm when several arms hold the tissue.
    fn reads(&self, run: &crate::coupling::tissue_section::ReplicateRun) -> bool {
        run.variant == self.variant && (self.arm.is_none() || run.arm() == self.arm.as_deref())
    }

    /// One replicate's value.
    fn value(&self, record: &Recorder) -> f64 {
        let Some(series) = record.series(&self.column) else {
            return f64::NAN;
        };
        let row = match self.time {
            None => series.len().checked_sub(1),
            Some(t) => record
                .rows
                .iter()
                .position(|r| (r[0] - t).abs() <= 0.5 * self.dt),
        };
        let Some(x) = row.and_then(|k| series.get(k).copied()) else {
            return f64::NAN;
        };
        match (self.kind, series.first()) {
            (Kind::FoldChange, Some(&start)) if start > 0.0 => x / start,
            (Kind::FoldChange, _) => f64::NAN,
            _ => x,
        }
    }
}
