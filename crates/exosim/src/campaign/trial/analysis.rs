//! The simulated trials, drawn from the campaign's virtual subjects once
//! they have all run.
//!
//! Trial j draws, from its own random stream, distinct subjects for every
//! arm (as many as the largest size) and a dropout time for each; the
//! trial of n per arm takes the first n of each arm's draw, so that the
//! sizes of one trial are nested and the power curve is smooth (common
//! random numbers). A subject lost before the endpoint's time has no
//! continuous endpoint; one lost before progression is censored then. The
//! result depends on the seed and the table alone: any sharding, any
//! thread count, the same bytes.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::stats::{self, ExactU, Responses, Survival, TestResult};
use super::{Endpoint, Test, Trial, event_column, trajectory_column, value_column};
use crate::biopsy::roc::wilson_interval;
use crate::campaign::design::{below, open_unit};
use crate::output::{self, Column, OutputError, Table};
use crate::random::stream;

/// Stream domain of the trials' draws (entity: the trial).
pub const TRIAL_DOMAIN: u64 = u64::from_be_bytes(*b"camptria");

/// The files a trial's analysis writes beside the campaign's table.
pub const FILES: [&str; 4] = [
    "trials.csv",
    "power.csv",
    "kaplan_meier.csv",
    "trajectories.parquet",
];

/// One arm's subjects, as the trials read them.
struct Arm {
    values: Vec<f64>,
    events: Vec<bool>,
}

/// One test of one simulated trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialRow {
    /// Subjects per arm drawn.
    pub size: u64,
    /// Which trial, from 0.
    pub trial: u64,
    /// The compared arm (index into [`Trial::arms`]).
    pub arm: usize,
    /// Control subjects analysed (after dropout and failed runs).
    pub n_control: u64,
    /// Treated subjects analysed.
    pub n_treated: u64,
    /// The test's result; None when too few subjects or no event.
    pub result: Option<TestResult>,
    /// p < α.
    pub significant: bool,
}

/// The power of one comparison at one size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerPoint {
    /// The compared arm.
    pub arm: String,
    /// Subjects per arm.
    pub subjects: u64,
    /// Trials simulated.
    pub trials: u64,
    /// Trials with p < α.
    pub significant: u64,
    /// significant / trials.
    pub power: f64,
    /// Wilson interval of the power at the campaign's confidence level.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// The smallest size per arm that reaches the power sought.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    /// The compared arm.
    pub arm: String,
    /// The power sought.
    pub target: f64,
    /// The smallest size searched whose power reaches it; None when
    /// none does.
    pub subjects: Option<u64>,
    /// The power at that size, or at the largest size tried when none
    /// reaches the target.
    pub power: PowerPoint,
    /// What the result means, in words.
    pub verdict: String,
}

/// Best overall response by RECIST-like categories, over every subject
/// of one arm (a `best_response` endpoint), read on a volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recist {
    /// The arm.
    pub arm: String,
    /// Subjects with a best response.
    pub subjects: u64,
    /// Complete response: the tumour fell below [`COMPLETE`] of its start
    /// (a simulated tumour shrinks without vanishing).
    pub complete: u64,
    /// Partial response: −30 % in diameter, a volume ratio ≤ 0.343.
    pub partial: u64,
    /// Stable disease: neither a response nor progression.
    pub stable: u64,
    /// Progressive disease: progressed (+20 % in diameter over the lowest
    /// value so far) without a response first.
    pub progressive: u64,
    /// Objective response rate, (complete + partial) / subjects.
    pub objective_response_rate: f64,
}

/// Volume ratio below which a response counts as complete.
pub const COMPLETE: f64 = 0.01;

/// Volume ratio at or below which a response counts as partial: −30 % in
/// diameter, 0.7³.
pub const PARTIAL: f64 = 0.343;

/// The categories of each arm's subjects' best responses (change over
/// the start: −0.5 is halved).
fn recist(trial: &Trial, arms: &[Arm]) -> Vec<Recist> {
    trial
        .all_arms()
        .iter()
        .zip(arms)
        .map(|(name, arm)| {
            let best: Vec<(f64, bool)> = (arm.values.iter().zip(&arm.events))
                .filter(|(v, _)| v.is_finite())
                .map(|(&v, &e)| (1.0 + v, e))
                .collect();
            let count = |f: &dyn Fn(f64, bool) -> bool| {
                best.iter().filter(|&&(r, e)| f(r, e)).count() as u64
            };
            let complete = count(&|r, _| r < COMPLETE);
            let partial = count(&|r, _| (COMPLETE..=PARTIAL).contains(&r));
            let progressive = count(&|r, e| r > PARTIAL && e);
            let subjects = best.len() as u64;
            Recist {
                arm: name.to_string(),
                subjects,
                complete,
                partial,
                stable: subjects - complete - partial - progressive,
                progressive,
                objective_response_rate: (complete + partial) as f64 / subjects.max(1) as f64,
            }
        })
        .collect()
}

/// What `summary.json` says of the trial.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialSummary {
    /// The trial as checked.
    #[serde(flatten)]
    pub trial: Trial,
    /// Virtual subjects the trials are drawn from.
    pub population: u64,
    /// Subjects whose run failed (never drawn into an analysis).
    pub failed_subjects: u64,
    /// Power of each comparison at each size of `subjects`.
    pub power: Vec<PowerPoint>,
    /// The sample-size search, when a power is sought.
    pub search: Vec<Search>,
    /// RECIST-like categories of the best response (`best_response`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recist: Vec<Recist>,
}

/// Everything the analysis finds.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The summary.
    pub summary: TrialSummary,
    /// Every test of every trial at the listed sizes.
    pub rows: Vec<TrialRow>,
    /// Power at every size evaluated (every size up to the largest when a
    /// power is sought).
    pub curve: Vec<PowerPoint>,
}

/// Runs the trials on the subjects of `table` with `seed`; intervals at
/// `confidence`.
pub fn analyse(trial: &Trial, table: &Table, seed: u64, confidence: f64) -> Analysis {
    let arms: Vec<Arm> = trial.all_arms().iter().map(|a| arm(table, a)).collect();
    let population = arms[0].values.len() as u64;
    let failed = (0..population as usize)
        .filter(|&i| arms.iter().any(|a| !a.values[i].is_finite()))
        .count() as u64;
    let evaluated = evaluated_sizes(trial);
    let per_trial: Vec<Vec<TrialRow>> = (0..trial.trials)
        .into_par_iter()
        .map(|j| one_trial(trial, &arms, &evaluated, seed, j))
        .collect();
    let curve = power_curve(trial, &evaluated, &per_trial, confidence);
    let listed = |size: u64| trial.subjects.contains(&size);
    let power: Vec<PowerPoint> = curve
        .iter()
        .filter(|p| listed(p.subjects))
        .cloned()
        .collect();
    let search = trial
        .power
        .map(|target| search(trial, &curve, target))
        .unwrap_or_default();
    let rows = per_trial
        .into_iter()
        .flatten()
        .filter(|r| listed(r.size))
        .collect();
    Analysis {
        summary: TrialSummary {
            trial: trial.clone(),
            population,
            failed_subjects: failed,
            power,
            search,
            recist: match trial.endpoint {
                Endpoint::BestResponse => recist(trial, &arms),
                _ => Vec::new(),
            },
        },
        rows,
        curve,
    }
}

fn arm(table: &Table, name: &str) -> Arm {
    let column = |n: &str| {
        table
            .column(n)
            .map(|c| c.values.clone())
            .unwrap_or_default()
    };
    let values = column(&value_column(name));
    let events = column(&event_column(name));
    Arm {
        events: (0..values.len())
            .map(|i| events.get(i).is_some_and(|&e| e == 1.0))
            .collect(),
        values,
    }
}

/// The listed sizes, and with a power sought every size from 2 to the
/// largest.
fn evaluated_sizes(trial: &Trial) -> Vec<u64> {
    let largest = *trial.subjects.last().expect("at least one size");
    match trial.power {
        Some(_) => (2..=largest).collect(),
        None => trial.subjects.clone(),
    }
}

/// Trial `j`: its draw of subjects and dropout times, then every size and
/// comparison.
fn one_trial(trial: &Trial, arms: &[Arm], sizes: &[u64], seed: u64, j: u64) -> Vec<TrialRow> {
    let largest = *sizes.last().expect("at least one size") as usize;
    let population = arms[0].values.len();
    let mut rng = stream(seed, TRIAL_DOMAIN, j);
    // A partial Fisher–Yates shuffle: the first k·largest are distinct.
    let mut order: Vec<usize> = (0..population).collect();
    for s in 0..(arms.len() * largest).min(population) {
        let pick = s + below(&mut rng, population - s);
        order.swap(s, pick);
    }
    let rate = -(1.0 - trial.dropout).ln() / trial.follow_up;
    let dropout: Vec<f64> = (0..arms.len() * largest)
        .map(|_| {
            let u = open_unit(&mut rng);
            if rate > 0.0 {
                -u.ln() / rate
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let slot = |arm: usize, n: usize| arm * largest..arm * largest + n;
    let mut exact = ExactU::default();
    let mut rows = Vec::new();
    // With a control arm it is arm 0 and the compared arms follow.
    let first = usize::from(trial.control.is_some());
    for &size in sizes {
        let n = size as usize;
        for a in first..arms.len() {
            let group = |arm: usize| -> Vec<(usize, f64)> {
                slot(arm, n).map(|s| (order[s], dropout[s])).collect()
            };
            let t = group(a);
            let (n_control, n_treated, result) = if first == 1 {
                test(trial, &arms[0], &group(0), &arms[a], &t, &mut exact)
            } else {
                let v = observed(trial, &arms[a], &t);
                let reference = trial.reference.unwrap_or(f64::NAN);
                (0, v.len() as u64, stats::one_sample(&v, reference))
            };
            rows.push(TrialRow {
                size,
                trial: j,
                arm: a - first,
                n_control,
                n_treated,
                result,
                significant: result.is_some_and(|r| r.p < trial.alpha),
            });
        }
    }
    rows
}

/// The test of one comparison: each group's (subject, dropout time).
fn test(
    trial: &Trial,
    control: &Arm,
    c: &[(usize, f64)],
    treated: &Arm,
    t: &[(usize, f64)],
    exact: &mut ExactU,
) -> (u64, u64, Option<TestResult>) {
    if trial.endpoint == Endpoint::Progression {
        let (sc, st) = (survival(control, c), survival(treated, t));
        let r = stats::log_rank(&sc, &st);
        return (sc.len() as u64, st.len() as u64, r);
    }
    let (vc, vt) = (observed(trial, control, c), observed(trial, treated, t));
    let r = match trial.test {
        Test::Welch => stats::welch(&vc, &vt),
        Test::Student => stats::student(&vc, &vt),
        Test::MannWhitney => stats::mann_whitney(&vc, &vt, exact),
        Test::Fisher => stats::fisher_exact(responses(&vc), responses(&vt)),
        Test::LogRank => None,
    };
    (vc.len() as u64, vt.len() as u64, r)
}

/// Objective responders (complete or partial: a best volume ratio at most
/// [`PARTIAL`]) among best responses, given as changes over the start.
fn responses(best: &[f64]) -> Responses {
    Responses {
        responders: best.iter().filter(|&&v| 1.0 + v <= PARTIAL).count() as u64,
        subjects: best.len() as u64,
    }
}

/// The continuous endpoints of subjects still followed at its time.
fn observed(trial: &Trial, arm: &Arm, group: &[(usize, f64)]) -> Vec<f64> {
    group
        .iter()
        .filter(|&&(i, lost)| lost > trial.time && arm.values[i].is_finite())
        .map(|&(i, _)| arm.values[i])
        .collect()
}

/// Times to progression, censored at dropout.
fn survival(arm: &Arm, group: &[(usize, f64)]) -> Vec<Survival> {
    group
        .iter()
        .filter(|&&(i, _)| arm.values[i].is_finite())
        .map(|&(i, lost)| {
            let (time, event) = (arm.values[i], arm.events[i]);
            if lost < time {
                Survival {
                    time: lost,
                    event: false,
                }
            } else {
                Survival { time, event }
            }
        })
        .collect()
}

fn power_curve(
    trial: &Trial,
    sizes: &[u64],
    per_trial: &[Vec<TrialRow>],
    confidence: f64,
) -> Vec<PowerPoint> {
    let comparisons = trial.arms.len();
    let mut out = Vec::new();
    for (a, arm) in trial.arms.iter().enumerate() {
        for (k, &size) in sizes.iter().enumerate() {
            let significant = per_trial
                .iter()
                .filter(|rows| rows[k * comparisons + a].significant)
                .count() as u64;
            let (low, high) = wilson_interval(significant, trial.trials, confidence);
            out.push(PowerPoint {
                arm: arm.clone(),
                subjects: size,
                trials: trial.trials,
                significant,
                power: significant as f64 / trial.trials as f64,
                low,
                high,
            });
        }
    }
    out
}

fn search(trial: &Trial, curve: &[PowerPoint], target: f64) -> Vec<Search> {
    trial
        .arms
        .iter()
        .map(|arm| {
            let own: Vec<&PowerPoint> = curve.iter().filter(|p| &p.arm == arm).collect();
            let found = own.iter().find(|p| p.power >= target);
            let point = found.or(own.last()).map(|p| (*p).clone()).expect("sizes");
            let verdict = match found {
                Some(p) => format!(
                    "{} per arm give a power of {:.3} ({:.3}–{:.3}) against {}, at least the {target} sought",
                    p.subjects, p.power, p.low, p.high, trial.comparator()
                ),
                None => format!(
                    "not reached: the largest size tried, {} per arm, gives a power of {:.3} ({:.3}–{:.3}), below the {target} sought",
                    point.subjects, point.power, point.low, point.high
                ),
            };
            Search {
                arm: arm.clone(),
                target,
                subjects: found.map(|p| p.subjects),
                power: point,
                verdict,
            }
        })
        .collect()
}

/// Every subject's course in every arm of the trial: a row per subject
/// (`point`, its run) and trajectory time (`time_s`), a column per arm
/// holding the effect (in the effect's unit). What a pharmacometrician
/// plots as a spaghetti plot, and reads back to fit a model of their own.
pub fn trajectories(trial: &Trial, table: &Table) -> Table {
    let times = &trial.trajectory_times;
    let points = table
        .column("point")
        .map(|c| c.values.clone())
        .unwrap_or_default();
    let rows = points.len() * times.len();
    let mut out = Table::new();
    out.push_column(Column {
        name: "point".into(),
        unit: String::new(),
        description: "the subject: its run's index in the campaign".into(),
        values: points
            .iter()
            .flat_map(|&p| std::iter::repeat_n(p, times.len()))
            .collect(),
    });
    out.push_column(Column {
        name: "time_s".into(),
        unit: "s".into(),
        description: "time since the study's start".into(),
        values: (0..rows).map(|r| times[r % times.len()]).collect(),
    });
    for arm in trial.all_arms() {
        let columns: Vec<Option<&Column>> = (0..times.len())
            .map(|i| table.column(&trajectory_column(arm, i)))
            .collect();
        let unit = columns
            .first()
            .copied()
            .flatten()
            .map_or(String::new(), |c| c.unit.clone());
        out.push_column(Column {
            name: arm.to_string(),
            unit,
            description: format!("effect {} in arm {arm}", trial.effect),
            values: (0..rows)
                .map(|r| {
                    let column = columns[r % times.len()];
                    column.map_or(f64::NAN, |c| c.values[r / times.len()])
                })
                .collect(),
        });
    }
    out
}

/// Writes `trials.csv`, `power.csv`, `trajectories.parquet` and, for a
/// time to progression, `kaplan_meier.csv` (every subject of each arm,
/// without dropout) into `out`.
pub fn write(out: &Path, trial: &Trial, table: &Table, a: &Analysis) -> Result<(), OutputError> {
    if !trial.trajectory_times.is_empty() {
        output::write_parquet(
            &out.join("trajectories.parquet"),
            &trajectories(trial, table),
        )?;
    }
    let mut text =
        String::from("subjects,trial,arm,n_control,n_treated,statistic,p,estimate,significant\n");
    for r in &a.rows {
        let (s, p, e) = r.result.map_or((f64::NAN, f64::NAN, f64::NAN), |t| {
            (t.statistic, t.p, t.estimate)
        });
        text.push_str(&format!(
            "{},{},{},{},{},{s},{p},{e},{}\n",
            r.size,
            r.trial,
            trial.arms[r.arm],
            r.n_control,
            r.n_treated,
            u8::from(r.significant)
        ));
    }
    output::write_atomic(&out.join("trials.csv"), |w| w.write_all(text.as_bytes()))?;
    let mut text = String::from("arm,subjects,trials,significant,power,low,high\n");
    for p in &a.curve {
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            p.arm, p.subjects, p.trials, p.significant, p.power, p.low, p.high
        ));
    }
    output::write_atomic(&out.join("power.csv"), |w| w.write_all(text.as_bytes()))?;
    if trial.endpoint != Endpoint::Progression {
        return Ok(());
    }
    let mut text = String::from("arm,time_s,at_risk,events,survival\n");
    for name in trial.all_arms() {
        let arm = arm(table, name);
        let all: Vec<Survival> = (0..arm.values.len())
            .filter(|&i| arm.values[i].is_finite())
            .map(|i| Survival {
                time: arm.values[i],
                event: arm.events[i],
            })
            .collect();
        text.push_str(&format!("{name},0,{},0,1\n", all.len()));
        for s in stats::kaplan_meier(&all) {
            text.push_str(&format!(
                "{name},{},{},{},{}\n",
                s.time, s.at_risk, s.events, s.survival
            ));
        }
    }
    output::write_atomic(&out.join("kaplan_meier.csv"), |w| {
        w.write_all(text.as_bytes())
    })
}
