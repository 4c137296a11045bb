//! Virtual trials: the campaign's points are virtual subjects, each run in
//! every arm of the study with parameters drawn from the population laws
//! (`[[parameters]]`, `[[correlations]]`); `[trial]` says which arm is the
//! control, which are compared with it, the endpoint, the test, the sizes
//! and the dropout. Once every subject has run, [`analysis`] draws the
//! simulated trials from the subjects (each subject in one arm of a trial,
//! never two), applies dropout, runs the test and counts the significant
//! trials: the power at each size, with its interval, and the smallest
//! size that reaches a target power.
//!
//! Running every subject in every arm costs a run per subject instead of
//! one per arm, but makes the arms' samples come from one population, and
//! lets a thousand trials share a few hundred runs: a trial's analysis is
//! microseconds, a subject's run milliseconds.

// A study error carries its location and hint, built once at the edge.
#![allow(clippy::result_large_err)]

pub mod analysis;
pub mod power;
pub mod stats;

use serde::{Deserialize, Serialize};

use super::observable::{Kind, ObservableSpec};
use crate::scenario::Study;
use crate::scenario::check::{Check, Res};
use crate::scenario::error::KeyPath;
use crate::units::Time;

/// Most simulated trials of one campaign.
pub const MAX_TRIALS: u64 = 1_000_000;

/// Most times of a subject's recorded trajectory (each is a column of
/// the campaign's table per arm).
pub const MAX_TRAJECTORY_TIMES: usize = 200;

/// Times of a subject's trajectory by default: this many output times,
/// evenly spread, the first and the last included.
pub const DEFAULT_TRAJECTORY_TIMES: usize = 25;

/// `[trial]` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrialSpec {
    /// The control arm; without one, a single-arm trial compares each arm
    /// with `reference`.
    #[serde(default)]
    pub control: Option<String>,
    /// A single-arm trial's reference: the endpoint a historical control
    /// is taken to have (a one-sample t-test against it).
    #[serde(default)]
    pub reference: Option<f64>,
    /// Arms compared with the control; every other arm by default.
    #[serde(default)]
    pub arms: Option<Vec<String>>,
    /// The `[[effects]]` entry read (may be omitted when there is one).
    #[serde(default)]
    pub effect: Option<String>,
    /// `change`, `value`, `best_response` or `progression`.
    pub endpoint: String,
    /// `change` and `value`: when the endpoint is read.
    #[serde(default)]
    pub time: Option<Time>,
    /// `welch` (default for continuous endpoints), `student`,
    /// `mann_whitney`, `fisher` (response rates of a `best_response`), or
    /// `log_rank` (the only one for `progression`).
    #[serde(default)]
    pub test: Option<String>,
    /// Subjects per arm of the trials simulated (the power curve).
    pub subjects: Vec<u64>,
    /// Trials simulated at each size (1000).
    #[serde(default)]
    pub trials: Option<u64>,
    /// Share of subjects lost to follow-up by the study's end, at a
    /// constant rate (0).
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Two-sided significance level (0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Power sought: the smallest size per arm that reaches it is searched.
    #[serde(default)]
    pub power: Option<f64>,
    /// When each subject's effect is recorded in every arm, for
    /// `trajectories.parquet`: output times of the study. By default
    /// [`DEFAULT_TRAJECTORY_TIMES`] of them, evenly spread.
    #[serde(default)]
    pub trajectory_times: Option<Vec<Time>>,
}

/// What each subject contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The response at a time over its start (a tumour's volume ratio).
    Change,
    /// The response at a time.
    Value,
    /// The best change from the start (RECIST's best overall response).
    BestResponse,
    /// The time to progression, censored at the end of follow-up.
    Progression,
}

/// The test of each treated arm against the control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Welch's unequal-variance t-test.
    Welch,
    /// Student's pooled-variance t-test.
    Student,
    /// Mann–Whitney U.
    MannWhitney,
    /// Fisher's exact test of the objective response rates (complete or
    /// partial responders among the subjects followed).
    Fisher,
    /// The log-rank test (time to event).
    LogRank,
}

/// A checked `[trial]`, as the merge needs it: it travels in every part's
/// record so that the analysis runs from the parts alone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Trial {
    /// The control arm; None for a single-arm trial against `reference`.
    pub control: Option<String>,
    /// A single-arm trial's reference value of the endpoint.
    pub reference: Option<f64>,
    /// The arms compared with it.
    pub arms: Vec<String>,
    /// The effect read.
    pub effect: String,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// When a `change` or `value` is read, s; the end of follow-up for the
    /// others.
    pub time: f64,
    /// The end of follow-up (the study's end), s.
    pub follow_up: f64,
    /// The test.
    pub test: Test,
    /// Subjects per arm of each size simulated, ascending.
    pub subjects: Vec<u64>,
    /// Trials per size.
    pub trials: u64,
    /// Share lost by the end of follow-up.
    pub dropout: f64,
    /// Significance level.
    pub alpha: f64,
    /// Power sought (`power_sought` in the files: the summary's `power`
    /// is the power found).
    #[serde(rename = "power_sought")]
    pub power: Option<f64>,
    /// When each subject's effect is recorded in every arm, s (output
    /// times of the study, ascending).
    #[serde(default)]
    pub trajectory_times: Vec<f64>,
}

impl Trial {
    /// Every arm of the trial, the control (if any) first.
    pub fn all_arms(&self) -> Vec<&str> {
        self.control
            .iter()
            .chain(&self.arms)
            .map(String::as_str)
            .collect()
    }

    /// Whether `column` is one of the trajectory columns of an arm.
    pub fn is_trajectory(&self, column: &str) -> bool {
        self.all_arms().into_iter().any(|arm| {
            (0..self.trajectory_times.len()).any(|i| trajectory_column(arm, i) == column)
        })
    }

    /// What each arm is compared with, in words.
    pub fn comparator(&self) -> String {
        match (&self.control, self.reference) {
            (Some(c), _) => format!("`{c}`"),
            (None, Some(r)) => format!("the reference {r}"),
            (None, None) => "nothing".into(),
        }
    }

    /// The observables a subject records for arm `arm`: its endpoint, and
    /// for a time to event or a best response whether it progressed.
    pub fn observables(&self, arm: &str) -> Vec<ObservableSpec> {
        let spec = |name: String, kind: Kind, time: Option<f64>| ObservableSpec {
            arm: Some(arm.to_string()),
            time: time.map(Time::from_si),
            effect: Some(self.effect.clone()),
            ..ObservableSpec::new(name, kind)
        };
        let mut specs = match self.endpoint {
            Endpoint::Change => vec![spec(value_column(arm), Kind::EffectChange, Some(self.time))],
            Endpoint::Value => vec![spec(value_column(arm), Kind::Effect, Some(self.time))],
            Endpoint::BestResponse => vec![
                spec(value_column(arm), Kind::BestResponse, None),
                spec(event_column(arm), Kind::Progressed, None),
            ],
            Endpoint::Progression => vec![
                spec(value_column(arm), Kind::TimeToProgression, None),
                spec(event_column(arm), Kind::Progressed, None),
            ],
        };
        for (i, &t) in self.trajectory_times.iter().enumerate() {
            specs.push(spec(trajectory_column(arm, i), Kind::Effect, Some(t)));
        }
        specs
    }
}

/// The column of a subject's effect in arm `arm` at the `i`-th time of
/// its trajectory.
pub fn trajectory_column(arm: &str, i: usize) -> String {
    format!("trial.{arm}.trajectory.{i}")
}

/// The column of a subject's endpoint in arm `arm`.
pub fn value_column(arm: &str) -> String {
    format!("trial.{arm}")
}

/// The column of whether a subject's event happened in arm `arm`.
pub fn event_column(arm: &str) -> String {
    format!("trial.{arm}.event")
}

/// Checks `spec` against the study; `subjects` is the number of virtual
/// subjects the design runs.
pub fn resolve(c: &Check, spec: &TrialSpec, study: &Study, subjects: u64) -> Res<Trial> {
    let at = KeyPath::root().key("trial");
    let arms: Vec<String> = study.arms.iter().map(|a| a.name.clone()).collect();
    if let Some(control) = &spec.control {
        c.name_in(&at.key("control"), control, &arms, "arm")?;
    }
    single_arm(c, spec)?;
    let compared = compared_arms(c, spec, &arms)?;
    let effects: Vec<String> = study.effects.iter().map(|e| e.name.clone()).collect();
    let effect = match (&spec.effect, effects.as_slice()) {
        (Some(e), _) => effects[c.name_in(&at.key("effect"), e, &effects, "effect")?].clone(),
        (None, [only]) => only.clone(),
        (None, []) => {
            return c.err(
                &at,
                "the study has no [[effects]]: a trial needs an effect to measure",
                Some("add an [[effects]] entry to the study (docs/effects.md)".into()),
            );
        }
        (None, _) => {
            return c.err(
                &at.key("effect"),
                "the study has several effects: name one",
                Some(format!("one of: {}", effects.join(", "))),
            );
        }
    };
    let (endpoint, test) = endpoint_and_test(c, spec)?;
    let follow_up = study.output_times.last().copied().unwrap_or(0.0);
    let time = match endpoint {
        Endpoint::Change | Endpoint::Value => {
            let Some(t) = spec.time else {
                return c.err(
                    &at.key("time"),
                    format!("a `{}` endpoint needs `time`", spec.endpoint),
                    Some("e.g. time = \"21 day\", an output time of the study".into()),
                );
            };
            // Checked against the output times, at `trial.time`, when
            // the trial's observables are resolved.
            t.si()
        }
        _ => follow_up,
    };
    let sizes = sizes(c, spec, subjects, 1 + compared.len() as u64)?;
    let trials = spec.trials.unwrap_or(1000);
    c.count_in(&at.key("trials"), trials, 1, MAX_TRIALS, "trials")?;
    let dropout = spec.dropout.unwrap_or(0.0);
    if !(0.0..1.0).contains(&dropout) {
        return c.err(
            &at.key("dropout"),
            format!("{dropout} is not a share in [0, 1)"),
            Some("the share of subjects lost by the study's end, e.g. 0.1".into()),
        );
    }
    let alpha = level(c, &at.key("alpha"), spec.alpha.unwrap_or(0.05))?;
    let power = spec
        .power
        .map(|p| level(c, &at.key("power"), p))
        .transpose()?;
    let trajectory_times = trajectory_times(c, spec, &study.output_times)?;
    Ok(Trial {
        control: spec.control.clone(),
        reference: spec.reference,
        arms: compared,
        effect,
        endpoint,
        time,
        follow_up,
        test,
        subjects: sizes,
        trials,
        dropout,
        alpha,
        power,
        trajectory_times,
    })
}

/// The times of the subjects' trajectories: those written, each an output
/// time, or [`DEFAULT_TRAJECTORY_TIMES`] output times evenly spread.
fn trajectory_times(c: &Check, spec: &TrialSpec, grid: &[f64]) -> Res<Vec<f64>> {
    let at = KeyPath::root().key("trial").key("trajectory_times");
    let Some(written) = &spec.trajectory_times else {
        let n = grid.len().min(DEFAULT_TRAJECTORY_TIMES);
        if n < 2 {
            return Ok(grid.to_vec());
        }
        let last = grid.len() - 1;
        return Ok((0..n).map(|i| grid[i * last / (n - 1)]).collect());
    };
    if written.is_empty() || written.len() > MAX_TRAJECTORY_TIMES {
        return c.err(
            &at,
            format!(
                "{} times given: a trajectory has 1 to {MAX_TRAJECTORY_TIMES}",
                written.len()
            ),
            Some("leave it out for 25 times spread over the study".into()),
        );
    }
    let mut times = Vec::with_capacity(written.len());
    for (i, t) in written.iter().enumerate() {
        let t = t.si();
        if !grid.contains(&t) {
            return c.err(
                &at.index(i),
                format!(
                    "{} is not an output time of the study",
                    crate::units::format_human(t, crate::units::Dimension::Time)
                ),
                Some("use times of study.output_interval or study.output_times".into()),
            );
        }
        if times.last().is_some_and(|&last| t <= last) {
            return c.err(&at.index(i), "times must rise", None);
        }
        times.push(t);
    }
    Ok(times)
}

/// A trial has a control arm or, single-armed, a reference to test
/// against (by a one-sample t-test: a continuous endpoint, a t-test).
fn single_arm(c: &Check, spec: &TrialSpec) -> Res<()> {
    let at = KeyPath::root().key("trial");
    match (&spec.control, spec.reference) {
        (Some(_), Some(_)) => c.err(
            &at.key("reference"),
            "a trial with a control arm compares with it, not with a reference",
            Some("remove `reference`, or `control` for a single-arm trial".into()),
        ),
        (None, None) => c.err(
            &at,
            "a trial needs a `control` arm, or a `reference` for a single-arm trial",
            Some("e.g. control = \"control\"".into()),
        ),
        (None, Some(r)) if !r.is_finite() => {
            c.err(&at.key("reference"), format!("{r} is not a number"), None)
        }
        (None, Some(_))
            if !matches!(spec.test.as_deref(), None | Some("welch" | "student"))
                || spec.endpoint == "progression" =>
        {
            c.err(
                &at.key("test"),
                "a single-arm trial is tested by a one-sample t-test of a continuous endpoint",
                Some(
                    "use endpoint change, value or best_response with test welch or student".into(),
                ),
            )
        }
        _ => Ok(()),
    }
}

/// The compared arms: named ones checked, or every arm but the control;
/// none twice, not the control, and at least one.
fn compared_arms(c: &Check, spec: &TrialSpec, arms: &[String]) -> Res<Vec<String>> {
    let at = KeyPath::root().key("trial").key("arms");
    let named = match &spec.arms {
        Some(named) => named.clone(),
        None => arms
            .iter()
            .filter(|a| Some(*a) != spec.control.as_ref())
            .cloned()
            .collect(),
    };
    for (i, a) in named.iter().enumerate() {
        c.name_in(&at.index(i), a, arms, "arm")?;
        if Some(a) == spec.control.as_ref() {
            return c.err(
                &at.index(i),
                format!("`{a}` is the control: a trial cannot tell an arm from itself"),
                Some("list the treated arms only".into()),
            );
        }
        if named[..i].contains(a) {
            return c.err(&at.index(i), format!("`{a}` is listed twice"), None);
        }
    }
    if named.is_empty() {
        return c.err(
            &at,
            "no arm to compare with the control",
            Some("a trial needs the control and at least one treated arm".into()),
        );
    }
    Ok(named)
}

fn endpoint_and_test(c: &Check, spec: &TrialSpec) -> Res<(Endpoint, Test)> {
    let at = KeyPath::root().key("trial");
    const ENDPOINTS: [&str; 4] = ["change", "value", "best_response", "progression"];
    const TESTS: [&str; 5] = ["welch", "student", "mann_whitney", "fisher", "log_rank"];
    c.choice(&at.key("endpoint"), &spec.endpoint, &ENDPOINTS)?;
    let endpoint = match spec.endpoint.as_str() {
        "change" => Endpoint::Change,
        "value" => Endpoint::Value,
        "best_response" => Endpoint::BestResponse,
        _ => Endpoint::Progression,
    };
    let default = if endpoint == Endpoint::Progression {
        "log_rank"
    } else {
        "welch"
    };
    let name = spec.test.as_deref().unwrap_or(default);
    c.choice(&at.key("test"), name, &TESTS)?;
    let test = match name {
        "welch" => Test::Welch,
        "student" => Test::Student,
        "mann_whitney" => Test::MannWhitney,
        "fisher" => Test::Fisher,
        _ => Test::LogRank,
    };
    if test == Test::Fisher && endpoint != Endpoint::BestResponse {
        return c.err(
            &at.key("test"),
            format!(
                "`fisher` compares response rates, which a `{}` endpoint does not have",
                spec.endpoint
            ),
            Some(
                "use endpoint = \"best_response\" (RECIST categories) with test = \"fisher\""
                    .into(),
            ),
        );
    }
    if (test == Test::LogRank) != (endpoint == Endpoint::Progression) {
        return c.err(
            &at.key("test"),
            format!("`{name}` does not test a `{}` endpoint", spec.endpoint),
            Some(if endpoint == Endpoint::Progression {
                "a time to progression is tested with log_rank".into()
            } else {
                "a continuous endpoint is tested with welch, student, mann_whitney or fisher (best_response)".into()
            }),
        );
    }
    Ok((endpoint, test))
}

/// The sizes, ascending, each at least 2 and each drawable from the
/// subjects without using one twice in a trial.
fn sizes(c: &Check, spec: &TrialSpec, subjects: u64, arms: u64) -> Res<Vec<u64>> {
    let at = KeyPath::root().key("trial").key("subjects");
    if spec.subjects.is_empty() {
        return c.err(
            &at,
            "no size given",
            Some("e.g. subjects = [4, 8, 12]".into()),
        );
    }
    let mut sizes = spec.subjects.clone();
    for (i, &n) in sizes.iter().enumerate() {
        c.count_in(&at.index(i), n, 2, 1_000_000, "subjects per arm")?;
    }
    sizes.sort_unstable();
    sizes.dedup();
    let largest = sizes[sizes.len() - 1];
    if largest.saturating_mul(arms) > subjects {
        return c.err(
            &at,
            format!(
                "a trial of {largest} per arm in {arms} arms needs {} virtual subjects; \
                 the design runs {subjects}",
                largest * arms
            ),
            Some(format!(
                "raise [design] points to at least {} (several times more keeps the \
                 simulated trials nearly independent), or lower the sizes",
                largest * arms
            )),
        );
    }
    Ok(sizes)
}

fn level(c: &Check, at: &KeyPath, v: f64) -> Res<f64> {
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        c.err(at, format!("{v} is not in (0, 1)"), None)
    }
}
