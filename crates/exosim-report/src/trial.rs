//! A virtual trial's results, read and checked: the `trial` object of a
//! campaign's `summary.json`, `power.csv`, `trajectories.parquet` and (for
//! a time to progression) `kaplan_meier.csv`, as the merge writes them
//! (docs/trials.md).
//!
//! Like the rest of a campaign folder these files are often copied from
//! elsewhere, so each is checked before anything is drawn: an arm the
//! trial does not have, a power outside [0, 1] or outside its own
//! interval, a size the summary lists but `power.csv` lacks, times that go
//! backwards — each refused, naming the file, the line and the column.

use std::path::Path;

use serde_json::Value;

use crate::check::{self, Json, Rule};
use crate::error::ReportError;
use crate::table::LongTable;

/// The power of each comparison at each size evaluated.
pub const POWER_CSV: &str = "power.csv";
/// Every test of every simulated trial.
pub const TRIALS_CSV: &str = "trials.csv";
/// Kaplan–Meier curves of every arm (`progression`).
pub const KM_CSV: &str = "kaplan_meier.csv";
/// Every subject's course in every arm.
pub const TRAJECTORIES: &str = "trajectories.parquet";

/// Every subject's course in every arm (`trajectories.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectories {
    /// The trajectory's times, s, rising.
    pub times: Vec<f64>,
    /// The effect's unit.
    pub unit: String,
    /// Per arm (control first): per subject, its effect at each time (NaN
    /// where its run failed).
    pub arms: Vec<(String, Vec<Vec<f64>>)>,
}

/// The power of one comparison at one size (a row of `power.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Power {
    /// The arm compared with the control.
    pub arm: String,
    /// Subjects per arm.
    pub subjects: u64,
    /// Trials simulated.
    pub trials: u64,
    /// Of which significant.
    pub significant: u64,
    /// significant / trials.
    pub power: f64,
    /// Wilson interval.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// One step of a Kaplan–Meier curve (a row of `kaplan_meier.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Time in s.
    pub time: f64,
    /// Subjects at risk just before.
    pub at_risk: f64,
    /// Events at this time.
    pub events: f64,
    /// Survival after this time.
    pub survival: f64,
}

/// A sample-size search of one arm, as the summary words it.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The arm compared.
    pub arm: String,
    /// The power sought.
    pub target: f64,
    /// The verdict in words.
    pub verdict: String,
}

/// Everything a campaign folder says of its trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The control arm.
    pub control: String,
    /// The arms compared with it.
    pub arms: Vec<String>,
    /// The effect measured.
    pub effect: String,
    /// `change`, `value`, `best_response` or `progression`.
    pub endpoint: String,
    /// When a `change` or `value` is read, in s.
    pub time: f64,
    /// The study's end, in s.
    pub follow_up: f64,
    /// The test.
    pub test: String,
    /// Sizes listed (subjects per arm).
    pub subjects: Vec<u64>,
    /// Trials per size.
    pub trials: u64,
    /// Share lost to follow-up by the end.
    pub dropout: f64,
    /// Two-sided significance level.
    pub alpha: f64,
    /// Virtual subjects drawn from.
    pub population: u64,
    /// Subjects whose run failed.
    pub failed_subjects: u64,
    /// The searches (a power was sought), one per arm.
    pub search: Vec<Search>,
    /// `power.csv`, in file order.
    pub power: Vec<Power>,
    /// Per arm (control first), its Kaplan–Meier steps.
    pub km: Vec<(String, Vec<Step>)>,
    /// `trials.csv` summed up per arm compared and listed size.
    pub results: Vec<Results>,
    /// `trajectories.parquet`; `None` in a folder written before it was.
    pub trajectories: Option<Trajectories>,
}

/// The simulated trials of one arm at one size (from `trials.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// The arm compared.
    pub arm: String,
    /// Subjects per arm.
    pub subjects: u64,
    /// Trials simulated.
    pub trials: u64,
    /// Of which the test could run (enough subjects left after dropout).
    pub tested: u64,
    /// Of which significant.
    pub significant: u64,
    /// Median, 5th and 95th percentile of the estimates.
    pub estimate: [f64; 3],
    /// Median p-value.
    pub median_p: f64,
}

impl Trial {
    /// The power sought, when the trial sought one.
    pub fn sought(&self) -> Option<f64> {
        self.search.first().map(|s| s.target)
    }

    /// The arms of the study the trial reads: control first.
    pub fn all_arms(&self) -> Vec<&str> {
        std::iter::once(self.control.as_str())
            .chain(self.arms.iter().map(String::as_str))
            .collect()
    }

    /// The power of `arm` at `subjects` per arm, when evaluated.
    pub fn power_at(&self, arm: &str, subjects: u64) -> Option<&Power> {
        (self.power.iter()).find(|p| p.arm == arm && p.subjects == subjects)
    }
}

/// The names of a list of strings at `field`.
fn names(j: &Json, v: Option<&Value>, field: &str) -> Result<Vec<String>, ReportError> {
    (j.array(v, field)?.iter().enumerate())
        .map(|(i, x)| Ok(j.string(Some(x), &format!("{field}[{i}]"))?.to_string()))
        .collect()
}

/// The trial of a campaign folder, when its summary has one; `None` for a
/// campaign without a trial.
pub fn load(dir: &Path, summary: &Value) -> Result<Option<Trial>, ReportError> {
    let Some(t) = summary.get("trial").filter(|t| !t.is_null()) else {
        return Ok(None);
    };
    let path = dir.join("summary.json");
    let j = Json::new(&path);
    let t = j.object(Some(t), "trial")?;
    let num = |k: &str, rule: Rule| j.number(t.get(k), &format!("trial.{k}"), rule);
    let text =
        |k: &str| Ok::<_, ReportError>(j.string(t.get(k), &format!("trial.{k}"))?.to_string());
    let subjects = (j
        .array(t.get("subjects"), "trial.subjects")?
        .iter()
        .enumerate())
    .map(|(i, v)| {
        Ok(j.number(Some(v), &format!("trial.subjects[{i}]"), Rule::AtLeast(1.0))? as u64)
    })
    .collect::<Result<Vec<u64>, ReportError>>()?;
    let search = (j.array(t.get("search"), "trial.search")?.iter().enumerate())
        .map(|(i, s)| {
            let at = |k: &str| format!("trial.search[{i}].{k}");
            Ok(Search {
                arm: j.string(s.get("arm"), &at("arm"))?.to_string(),
                target: j.number(s.get("target"), &at("target"), Rule::Within(0.0, 1.0))?,
                verdict: j.string(s.get("verdict"), &at("verdict"))?.to_string(),
            })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let mut trial = Trial {
        control: text("control")?,
        arms: names(&j, t.get("arms"), "trial.arms")?,
        effect: text("effect")?,
        endpoint: text("endpoint")?,
        time: num("time", Rule::AtLeast(0.0))?,
        follow_up: num("follow_up", Rule::AtLeast(0.0))?,
        test: text("test")?,
        subjects,
        trials: num("trials", Rule::AtLeast(1.0))? as u64,
        dropout: num("dropout", Rule::Within(0.0, 1.0))?,
        alpha: num("alpha", Rule::Within(0.0, 1.0))?,
        population: num("population", Rule::AtLeast(0.0))? as u64,
        failed_subjects: num("failed_subjects", Rule::AtLeast(0.0))? as u64,
        search,
        power: Vec::new(),
        km: Vec::new(),
        results: Vec::new(),
        trajectories: None,
    };
    trial.trajectories = read_trajectories(dir, &trial)?;
    trial.power = read_power(dir, &trial)?;
    trial.km = read_km(dir, &trial)?;
    trial.results = read_trials(dir, &trial)?;
    Ok(Some(trial))
}

/// `power.csv`: every row an arm of the trial, a power within [0, 1] and
/// within its interval, significant trials at most the trials; every size
/// the summary lists there for every arm.
fn read_power(dir: &Path, trial: &Trial) -> Result<Vec<Power>, ReportError> {
    let path = dir.join(POWER_CSV);
    if !path.is_file() {
        let why = "summary.json has a trial, and its power is written there".to_string();
        return Err(ReportError::MissingFile { path, why });
    }
    let t = LongTable::read(&path)?;
    let rows = (0..t.len())
        .map(|r| power_row(&t, r, trial))
        .collect::<Result<Vec<_>, _>>()?;
    for arm in &trial.arms {
        for &n in &trial.subjects {
            if !rows.iter().any(|p| &p.arm == arm && p.subjects == n) {
                let why = format!(
                    "no row for `{arm}` at {n} per arm, a size summary.json lists (file truncated?)"
                );
                return Err(check::invalid(&path, None, "subjects", why));
            }
        }
    }
    Ok(rows)
}

/// Row `r` of `power.csv`, checked.
fn power_row(t: &LongTable, r: usize, trial: &Trial) -> Result<Power, ReportError> {
    let line = Some(t.line(r));
    let bad = |c: &str, why: String| check::invalid(&t.path, line, c, why);
    let arm = t.text(r, t.require("arm")?).to_string();
    if !trial.arms.contains(&arm) {
        return Err(bad(
            "arm",
            format!(
                "`{arm}` is not an arm the trial compares ({})",
                trial.arms.join(", ")
            ),
        ));
    }
    let number = |c: &str, rule: Rule| {
        let v = t.number(r, t.require(c)?)?;
        rule.broken(v).map_or(Ok(v), |why| Err(bad(c, why)))
    };
    let count = |c: &str| number(c, Rule::AtLeast(0.0)).map(|v| v as u64);
    let p = Power {
        arm,
        subjects: number("subjects", Rule::AtLeast(1.0))? as u64,
        trials: number("trials", Rule::AtLeast(1.0))? as u64,
        significant: count("significant")?,
        power: number("power", Rule::Within(0.0, 1.0))?,
        low: number("low", Rule::Within(0.0, 1.0))?,
        high: number("high", Rule::Within(0.0, 1.0))?,
    };
    if p.significant > p.trials {
        return Err(bad(
            "significant",
            format!("{} significant of {} trials", p.significant, p.trials),
        ));
    }
    // Printed with 17 digits: a billionth leaves room for rounding only.
    let tol = 1e-9;
    if p.low > p.power + tol || p.high < p.power - tol {
        let why = format!("{} outside its interval {}–{}", p.power, p.low, p.high);
        return Err(bad("power", why));
    }
    Ok(p)
}

/// `kaplan_meier.csv`, required for a `progression` endpoint: per arm of
/// the trial, times that never go back and survival within [0, 1] that
/// never rises.
fn read_km(dir: &Path, trial: &Trial) -> Result<Vec<(String, Vec<Step>)>, ReportError> {
    let path = dir.join(KM_CSV);
    if trial.endpoint != "progression" {
        return Ok(Vec::new());
    }
    if !path.is_file() {
        let why =
            "the trial's endpoint is `progression`, whose curves are written there".to_string();
        return Err(ReportError::MissingFile { path, why });
    }
    let t = LongTable::read(&path)?;
    let mut out: Vec<(String, Vec<Step>)> = trial
        .all_arms()
        .iter()
        .map(|a| (a.to_string(), Vec::new()))
        .collect();
    for r in 0..t.len() {
        let line = Some(t.line(r));
        let arm = t.text(r, t.require("arm")?);
        let Some(curve) = out.iter_mut().find(|(a, _)| a == arm) else {
            let why = format!(
                "`{arm}` is not an arm of the trial ({})",
                trial.all_arms().join(", ")
            );
            return Err(check::invalid(&path, line, "arm", why));
        };
        let number = |c: &str, rule: Rule| {
            let v = t.number(r, t.require(c)?)?;
            rule.broken(v)
                .map_or(Ok(v), |why| Err(check::invalid(&path, line, c, why)))
        };
        let step = Step {
            time: number("time_s", Rule::AtLeast(0.0))?,
            at_risk: number("at_risk", Rule::AtLeast(0.0))?,
            events: number("events", Rule::AtLeast(0.0))?,
            survival: number("survival", Rule::Within(0.0, 1.0))?,
        };
        if let Some(last) = curve.1.last()
            && (step.time < last.time || step.survival > last.survival + 1e-12)
        {
            let why = "time went back or survival rose within the arm's curve".to_string();
            return Err(check::invalid(&path, line, "survival", why));
        }
        curve.1.push(step);
    }
    if let Some((arm, _)) = out.iter().find(|(_, s)| s.is_empty()) {
        let why = format!("no curve for `{arm}`, an arm of the trial (file truncated?)");
        return Err(check::invalid(&path, None, "arm", why));
    }
    Ok(out)
}

/// `trajectories.parquet`: `point`, `time_s` and a column per arm of the
/// trial; the same rising times for every subject; no infinite value.
fn read_trajectories(dir: &Path, trial: &Trial) -> Result<Option<Trajectories>, ReportError> {
    let path = dir.join(TRAJECTORIES);
    if !path.is_file() {
        return Ok(None);
    }
    let table = exosim::output::read_parquet(&path)?;
    let column = |name: &str| {
        table.column(name).ok_or_else(|| {
            check::invalid(
                &path,
                None,
                name,
                "missing: every trial's trajectories have it",
            )
        })
    };
    let time = &column("time_s")?.values;
    let per_subject = time
        .iter()
        .skip(1)
        .position(|&t| t <= time[0])
        .map_or(time.len(), |i| i + 1);
    let times = time[..per_subject].to_vec();
    let rising = times.windows(2).all(|w| w[0] < w[1]);
    let same =
        time.len() % per_subject == 0 && (time.chunks(per_subject)).all(|c| c == times.as_slice());
    if times.is_empty() || !rising || !same {
        let why = "every subject's times must rise, and be the same for every subject";
        return Err(check::invalid(&path, None, "time_s", why));
    }
    let mut arms = Vec::new();
    let mut unit = String::new();
    for arm in trial.all_arms() {
        let c = column(arm)?;
        if let Some(r) = c.values.iter().position(|v| v.is_infinite()) {
            return Err(check::invalid(&path, Some(r), arm, "an infinite effect"));
        }
        unit = c.unit.clone();
        let subjects = c.values.chunks(per_subject).map(<[f64]>::to_vec).collect();
        arms.push((arm.to_string(), subjects));
    }
    Ok(Some(Trajectories { times, unit, arms }))
}

/// The `q` quantile of sorted `v` (linear interpolation), NaN when empty.
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = q * (v.len() - 1) as f64;
    let (i, f) = (h.floor() as usize, h - h.floor());
    v[i] + f * (v[(i + 1).min(v.len() - 1)] - v[i])
}

/// `trials.csv`: every row an arm and a listed size of the trial, a p
/// within [0, 1] (or NaN where no test could run), `significant` 0 or 1;
/// summed up per arm and size, with as many trials as the summary says.
fn read_trials(dir: &Path, trial: &Trial) -> Result<Vec<Results>, ReportError> {
    let path = dir.join(TRIALS_CSV);
    if !path.is_file() {
        let why =
            "summary.json has a trial, and every simulated trial is written there".to_string();
        return Err(ReportError::MissingFile { path, why });
    }
    let t = LongTable::read(&path)?;
    let (arm_c, size_c) = (t.require("arm")?, t.require("subjects")?);
    let (p_c, e_c, s_c) = (
        t.require("p")?,
        t.require("estimate")?,
        t.require("significant")?,
    );
    let mut groups: Vec<Group> = Vec::new();
    for r in 0..t.len() {
        let bad =
            |c: usize, why: String| check::invalid(&path, Some(t.line(r)), &t.headers[c], why);
        let arm = t.text(r, arm_c);
        let size = t.number(r, size_c)?;
        if !trial.arms.iter().any(|a| a == arm) || !trial.subjects.iter().any(|&n| n as f64 == size)
        {
            return Err(bad(
                arm_c,
                format!(
                    "`{arm}` at {size} per arm is not a comparison and size summary.json lists"
                ),
            ));
        }
        let (p, e, sig) = (t.number(r, p_c)?, t.number(r, e_c)?, t.number(r, s_c)?);
        if let Some(why) = (!p.is_nan())
            .then(|| Rule::Within(0.0, 1.0).broken(p))
            .flatten()
        {
            return Err(bad(p_c, why));
        }
        if sig != 0.0 && sig != 1.0 {
            return Err(bad(s_c, format!("{sig} where a trial writes 0 or 1")));
        }
        let i = match groups
            .iter()
            .position(|g| g.arm == arm && g.subjects as f64 == size)
        {
            Some(i) => i,
            None => {
                groups.push(Group {
                    arm: arm.to_string(),
                    subjects: size as u64,
                    ..Group::default()
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[i];
        (g.n, g.significant) = (g.n + 1, g.significant + sig as u64);
        if p.is_finite() && e.is_finite() {
            g.estimates.push(e);
            g.p.push(p);
        }
    }
    groups
        .into_iter()
        .map(|g| results(&path, trial, g))
        .collect()
}

/// The rows of `trials.csv` of one arm and size, as read.
#[derive(Default)]
struct Group {
    arm: String,
    subjects: u64,
    estimates: Vec<f64>,
    p: Vec<f64>,
    n: u64,
    significant: u64,
}

/// One arm and size of `trials.csv`, its count checked against the summary.
fn results(path: &Path, trial: &Trial, g: Group) -> Result<Results, ReportError> {
    let Group {
        arm,
        subjects,
        estimates: mut e,
        mut p,
        n,
        significant,
    } = g;
    if n != trial.trials {
        let why = format!(
            "{n} trials of `{arm}` at {subjects} per arm, but summary.json says {} (file truncated?)",
            trial.trials
        );
        return Err(check::invalid(path, None, "trial", why));
    }
    e.sort_by(f64::total_cmp);
    p.sort_by(f64::total_cmp);
    Ok(Results {
        arm,
        subjects,
        trials: n,
        tested: e.len() as u64,
        significant,
        estimate: [quantile(&e, 0.5), quantile(&e, 0.05), quantile(&e, 0.95)],
        median_p: quantile(&p, 0.5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_sorted_values() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!((quantile(&v, 0.0), quantile(&v, 1.0)), (1.0, 8.0));
        assert!((quantile(&v, 0.05) - 1.15).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(quantile(&[5.0], 0.95), 5.0);
    }
}
