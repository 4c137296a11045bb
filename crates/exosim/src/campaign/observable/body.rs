//! Body observables: per arm and vesicle class, the blood PK figures of the
//! summary and what a place holds (counts, shares of the dose, cumulative
//! uptake, peaks), read from the run's [`ArmCourse`] with the helpers of
//! [`crate::body`] that the summary uses.

use super::{Kind, Table, need, on_grid, pick};
use crate::body::model::Arm;
use crate::body::pbpk::{self, ArmModel, Place};
use crate::body::pk::PkFigures;
use crate::body::{self, ArmCourse, ClassCourse};
use crate::run::RunResult;
use crate::scenario::{Study, StudyError};
use crate::units::Dimension;

/// A body observable resolved against its study.
#[derive(Debug, Clone)]
pub struct Target {
    kind: Kind,
    arm: String,
    class: usize,
    vesicles: String,
    place: Option<Place>,
    time: Option<f64>,
    /// The arm and its network, for the cumulative uptake of
    /// `fraction_delivered` (an organ's rates and local doses).
    uptake: Option<Box<(Arm, ArmModel)>>,
    /// The arm's plasma, m³, for `plasma_concentration`.
    plasma_volume: f64,
}

/// The arm as the run simulates it: a coupled arm carries every class
/// linked to its tissue, dosed or not.
fn simulated_arm(study: &Study, index: usize) -> Arm {
    let arm = &study.arms[index];
    match study.tissue.as_ref().and_then(|t| t.coupling.as_ref()) {
        Some(c) if c.holds(index) => crate::coupling::tissue_body::arm_with_links(arm, c),
        _ => arm.clone(),
    }
}

/// Resolves a body observable: the arm, a class present in it (dosed, for
/// the PK figures of the first dose), the place and the output time.
pub(super) fn resolve(
    spec: &super::ObservableSpec,
    study: &Study,
    p: &Table,
) -> Result<(Target, String), StudyError> {
    let names: Vec<&str> = study.arms.iter().map(|a| a.name.as_str()).collect();
    let ai = pick(p, "arm", "arm", spec.arm.as_deref(), &names)?;
    let arm = simulated_arm(study, ai);
    let class = pick_class(spec, study, &arm, p)?;
    let vesicles = study.vesicles[class].name.clone();
    let model = pbpk::build(&study.plan(), &arm);
    let mut target = Target {
        kind: spec.kind,
        arm: arm.name.clone(),
        class,
        vesicles,
        place: None,
        time: None,
        uptake: None,
        plasma_volume: arm.body.plasma_volume(),
    };
    if spec.kind == Kind::PlasmaConcentration {
        target.place = Some(Place::Blood);
    }
    if spec.kind.about().keys.contains(&"place") {
        target.place = Some(pick_place(spec, &arm, &model, class, p)?);
    }
    if spec.kind.about().keys.contains(&"time") {
        let t = need(p, "time", &spec.time, spec.kind)?.si();
        let grid = &study.output_times;
        target.time = Some(on_grid(
            p,
            "time",
            t,
            grid,
            Dimension::Time,
            "output times",
        )?);
    }
    if spec.kind == Kind::FractionDelivered {
        target.uptake = Some(Box::new((arm, model)));
    }
    let description = target.describe();
    Ok((target, description))
}

/// The class of the observable: present in the arm, and dosed there for
/// the PK figures (which are those of the class's first dose).
fn pick_class(
    spec: &super::ObservableSpec,
    study: &Study,
    arm: &Arm,
    p: &Table,
) -> Result<usize, StudyError> {
    let pk = spec.kind.is_pk();
    let present: Vec<usize> = if pk {
        let mut dosed: Vec<usize> = arm.doses.iter().map(|d| d.class).collect();
        dosed.sort_unstable();
        dosed.dedup();
        dosed
    } else {
        arm.classes()
    };
    let names: Vec<&str> = present
        .iter()
        .map(|&c| study.vesicles[c].name.as_str())
        .collect();
    let what = if pk {
        "dosed"
    } else {
        "present (dosed or released)"
    };
    if let Some(w) = spec.vesicles.as_deref()
        && !names.contains(&w)
        && study.vesicles.iter().any(|v| v.name == w)
    {
        return Err(p.error(
            "vesicles",
            format!("`{w}` is not {what} in arm `{}`", arm.name),
            Some(format!("classes {what} there: {}", names.join(", "))),
        ));
    }
    let i = pick(
        p,
        "vesicles",
        "vesicle class",
        spec.vesicles.as_deref(),
        &names,
    )?;
    Ok(present[i])
}

/// The place of a place observable among those the arm reports; an organ
/// for `fraction_delivered` (uptake is an organ's tissue's).
fn pick_place(
    spec: &super::ObservableSpec,
    arm: &Arm,
    model: &ArmModel,
    class: usize,
    p: &Table,
) -> Result<Place, StudyError> {
    let places: Vec<Place> = model
        .classes
        .iter()
        .find(|s| s.class == class)
        .map(|s| {
            s.places(&arm.body)
                .into_iter()
                .map(|(pl, _)| pl)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|pl| spec.kind != Kind::FractionDelivered || matches!(pl, Place::Tissue(_)))
        .collect();
    let names: Vec<&str> = places.iter().map(|pl| pl.name()).collect();
    let what = match spec.kind {
        Kind::FractionDelivered => "organ",
        _ => "place",
    };
    let place = need(p, "place", &spec.place, spec.kind)?;
    let i = pick(p, "place", what, Some(place), &names)?;
    Ok(places[i])
}

impl Target {
    fn describe(&self) -> String {
        let what = self.kind.about().definition;
        let mut d = format!("{}: {what}", self.kind.about().name);
        if let Some(pl) = self.place {
            d.push_str(&format!("; place {}", pl.name()));
        }
        if let Some(t) = self.time {
            d.push_str(&format!(
                "; at {}",
                crate::units::format_human(t, Dimension::Time)
            ));
        }
        d + &format!("; {} vesicles, arm {}", self.vesicles, self.arm)
    }

    /// The value in `result`; NaN where the run lacks the arm, class or
    /// time, and where a PK figure cannot be estimated.
    /// This target read at output time `t`, when it is read at a time.
    pub(super) fn at_time(&self, t: f64) -> Option<Target> {
        self.time.map(|_| Target {
            time: Some(t),
            ..self.clone()
        })
    }

    pub(super) fn evaluate(&self, result: &RunResult) -> f64 {
        let Some(course) = result.arms.iter().find(|a| a.arm == self.arm) else {
            return f64::NAN;
        };
        let Some(cc) = course.classes.iter().find(|c| c.class == self.class) else {
            return f64::NAN;
        };
        if self.kind.is_pk() {
            self.pk(result)
                .map_or(f64::NAN, |f| pk_figure(self.kind, f))
        } else {
            self.of_place(course, cc).unwrap_or(f64::NAN)
        }
    }

    /// The PK figures the run's summary holds for this arm and class.
    fn pk<'r>(&self, result: &'r RunResult) -> Option<&'r PkFigures> {
        result
            .summaries
            .iter()
            .find(|s| s.arm == self.arm && s.vesicles == self.vesicles)?
            .pk
            .as_ref()
    }

    fn of_place(&self, course: &ArmCourse, cc: &ClassCourse) -> Option<f64> {
        let series = cc.series(self.place?)?;
        let at = || {
            let t = self.time?;
            course.times.iter().position(|&x| x == t)
        };
        Some(match self.kind {
            Kind::Count => series[at()?],
            Kind::FractionOfDose => cc.share_of_input(series[at()?], at()?),
            Kind::PlasmaConcentration => series[at()?] / self.plasma_volume,
            Kind::FractionDelivered => {
                let (arm, model) = self.uptake.as_deref()?;
                let organ = self.place?.name();
                let uptake = body::cumulative_uptake(arm, model, &course.times, cc);
                let (_, u) = uptake.iter().find(|(o, _)| o == organ)?;
                cc.share_of_input(u[at()?], at()?)
            }
            Kind::Peak => body::peak(&course.times, series).map_or(0.0, |(_, c)| c),
            Kind::PeakTime => body::peak(&course.times, series)?.0,
            _ => return None,
        })
    }
}

/// One figure of the summary's PK; NaN for a figure it could not estimate.
fn pk_figure(kind: Kind, f: &PkFigures) -> f64 {
    let nan = f64::NAN;
    match kind {
        Kind::InitialHalfLife => f.initial_half_life_s.unwrap_or(nan),
        Kind::TerminalHalfLife => f.terminal_half_life_s.unwrap_or(nan),
        Kind::AucLast => f.auc_last,
        Kind::AucInf => f.auc_inf.unwrap_or(nan),
        Kind::Mrt => f.mrt_s.unwrap_or(nan),
        Kind::CMax => f.c_max,
        Kind::TMax => f.t_max_s,
        Kind::Clearance => f.clearance_m3_per_s.unwrap_or(nan),
        _ => nan,
    }
}
