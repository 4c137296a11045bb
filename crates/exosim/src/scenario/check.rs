//! The one validation helper of the resolvers: every range, name and choice
//! check of a study file is written here once, and returns a [`StudyError`]
//! located at the key that holds the offending value.

use super::error::{KeyPath, Locator, StudyError, did_you_mean};

/// Largest study file read, so that a wrong path (a disk image, a log) cannot
/// exhaust memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
use crate::units::{self, Dimension, Time};

/// Result of a check or a resolver step.
pub type Res<T> = Result<T, StudyError>;

/// At most this many administrations per dose entry.
pub const MAX_DOSE_COUNT: u32 = 100_000;

/// Longest name of anything a study defines (arms, classes, cell types, …).
pub const MAX_NAME_CHARS: usize = 64;

/// Checks values against the source text that [`Locator`] holds.
#[derive(Clone, Copy)]
pub struct Check<'a, 't> {
    /// Where keys are in the source text.
    pub loc: &'a Locator<'t>,
}

/// `v` as written in a message: a plain number, or a quantity in the units a
/// person reads when `dim` is given.
fn shown(v: f64, dim: Option<Dimension>) -> String {
    match dim {
        Some(d) => units::format_human(v, d),
        None => format!("{v}"),
    }
}

impl<'a, 't> Check<'a, 't> {
    /// A checker of the text that `loc` holds.
    pub fn new(loc: &'a Locator<'t>) -> Self {
        Check { loc }
    }

    /// An error at `p`.
    pub fn err<T>(&self, p: &KeyPath, msg: impl Into<String>, hint: Option<String>) -> Res<T> {
        Err(self.loc.error(p, msg, hint))
    }

    /// A notice at `p` (see [`Locator::notice`]): the study stays valid.
    pub fn notice(&self, p: &KeyPath, msg: impl Into<String>, hint: Option<String>) {
        self.loc.notice(p, msg, hint);
    }

    /// A name that also names output files and columns: 1 to 64 ASCII
    /// letters, digits, `_` or `-`.
    pub fn identifier(&self, p: &KeyPath, name: &str, what: &str) -> Res<()> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_CHARS
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(())
        } else {
            self.err(
                p,
                format!("`{name}` is not a valid {what} name"),
                Some(format!(
                    "use 1 to {MAX_NAME_CHARS} letters, digits, `_` or `-`"
                )),
            )
        }
    }

    /// A free-text name (a marker, a condition): 1 to 64 characters once
    /// trimmed; returns it trimmed.
    pub fn label<'n>(&self, p: &KeyPath, name: &'n str, what: &str) -> Res<&'n str> {
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_CHARS {
            return self.err(
                p,
                format!("{what} name `{name}` is empty or too long"),
                Some(format!("use 1 to {MAX_NAME_CHARS} characters")),
            );
        }
        Ok(trimmed)
    }

    /// The names of the entries of the array of tables at `p` (`p[i].name`):
    /// each a valid identifier, none defined twice.
    pub fn unique(&self, p: &KeyPath, names: &[String], what: &str) -> Res<()> {
        for (i, n) in names.iter().enumerate() {
            self.identifier(&p.index(i).key("name"), n, what)?;
            if names[..i].contains(n) {
                return self.err(
                    &p.index(i).key("name"),
                    format!("{what} `{n}` is defined twice"),
                    None,
                );
            }
        }
        Ok(())
    }

    /// The position of `name` among the defined `names`, with a "did you
    /// mean" or the list of defined names when it is not there.
    pub fn name_in(&self, p: &KeyPath, name: &str, names: &[String], what: &str) -> Res<usize> {
        if let Some(i) = names.iter().position(|n| n == name) {
            return Ok(i);
        }
        let hint = did_you_mean(name, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                Some(if names.is_empty() {
                    format!("no {what} is defined")
                } else {
                    format!("defined: {}", names.join(", "))
                })
            });
        self.err(p, format!("unknown {what} `{name}`"), hint)
    }

    /// `value` is one of `options`.
    pub fn choice(&self, p: &KeyPath, value: &str, options: &[&str]) -> Res<()> {
        if options.contains(&value) {
            return Ok(());
        }
        let hint = did_you_mean(value, options.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("choose one of: {}", options.join(", "))));
        self.err(p, format!("unknown value `{value}`"), hint)
    }

    /// A finite number greater than zero.
    pub fn positive(&self, p: &KeyPath, v: f64) -> Res<f64> {
        self.positive_shown(p, v, None)
    }

    /// A finite quantity greater than zero, shown in `dim`'s units in the error.
    pub fn positive_quantity(&self, p: &KeyPath, v: f64, dim: Dimension) -> Res<f64> {
        self.positive_shown(p, v, Some(dim))
    }

    fn positive_shown(&self, p: &KeyPath, v: f64, dim: Option<Dimension>) -> Res<f64> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            self.err(
                p,
                format!("{} must be greater than zero", shown(v, dim)),
                None,
            )
        }
    }

    /// A finite number, zero or more.
    pub fn non_negative(&self, p: &KeyPath, v: f64) -> Res<f64> {
        self.non_negative_shown(p, v, None)
    }

    /// A finite quantity, zero or more, shown in `dim`'s units in the error.
    pub fn non_negative_quantity(&self, p: &KeyPath, v: f64, dim: Dimension) -> Res<f64> {
        self.non_negative_shown(p, v, Some(dim))
    }

    fn non_negative_shown(&self, p: &KeyPath, v: f64, dim: Option<Dimension>) -> Res<f64> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            self.err(p, format!("{} must not be negative", shown(v, dim)), None)
        }
    }

    /// A finite number.
    pub fn finite(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if v.is_finite() {
            Ok(v)
        } else {
            self.err(p, format!("{v} is not a finite number"), None)
        }
    }

    /// A number from 0 to 1.
    pub fn fraction(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            self.err(
                p,
                format!("{v} is not a fraction"),
                Some("expected a number from 0 to 1".into()),
            )
        }
    }

    /// A coefficient of variation from 0 to 10 (0 when not given).
    pub fn cv(&self, p: &KeyPath, v: Option<f64>) -> Res<f64> {
        match v {
            Some(x) if !(x.is_finite() && (0.0..=10.0).contains(&x)) => self.err(
                p,
                format!("CV {x} is out of range"),
                Some("a coefficient of variation from 0 to 10 (0.5 = 50 %)".into()),
            ),
            Some(x) => Ok(x),
            None => Ok(0.0),
        }
    }

    /// A whole number from `lo` to `hi`; `what` names its unit in the error
    /// ("cells", "replicates").
    pub fn count_in(&self, p: &KeyPath, v: u64, lo: u64, hi: u64, what: &str) -> Res<u64> {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            self.err(p, format!("{v} {what}"), Some(format!("use {lo} to {hi}")))
        }
    }

    /// A point in time within the study (0 to `duration`).
    pub fn time_within(&self, p: &KeyPath, t: f64, duration: f64) -> Res<f64> {
        if (0.0..=duration).contains(&t) {
            Ok(t)
        } else {
            self.err(
                p,
                format!(
                    "{} is outside the study (0 to {})",
                    units::format_human(t, Dimension::Time),
                    units::format_human(duration, Dimension::Time)
                ),
                Some("lengthen `study.duration` or move this time".into()),
            )
        }
    }
}

/// The start of each administration of a schedule at `p` (`at`, `every`,
/// `count`), checked: at most [`MAX_DOSE_COUNT`], an interval when
/// repeated, ending (an infusion of length `infusion`: its end) within the
/// study, repeated infusions not overlapping. Vesicle doses and drug doses
/// share it.
pub fn dose_times(
    c: &Check,
    p: &KeyPath,
    at: Option<Time>,
    every: Option<Time>,
    count: Option<u32>,
    infusion: Option<f64>,
    duration: f64,
) -> Res<Vec<f64>> {
    let start = c.time_within(&p.key("at"), at.map(|t| t.si()).unwrap_or(0.0), duration)?;
    let count = count.unwrap_or(1);
    if count == 0 || count > MAX_DOSE_COUNT {
        return c.err(
            &p.key("count"),
            format!("{count} administrations"),
            Some(format!("use 1 to {MAX_DOSE_COUNT}")),
        );
    }
    let every = match (every, count) {
        (Some(e), _) => c.positive_quantity(&p.key("every"), e.si(), Dimension::Time)?,
        (None, 1) => 0.0,
        (None, _) => {
            return c.err(
                &p.key("count"),
                "repeated doses need an interval",
                Some("add e.g. `every = \"24 h\"`".into()),
            );
        }
    };
    let times: Vec<f64> = (0..count).map(|k| start + k as f64 * every).collect();
    let end = times[times.len() - 1] + infusion.unwrap_or(0.0);
    if end > duration * (1.0 + 1e-12) {
        return c.err(
            p,
            format!(
                "the schedule ends at {}, after the end of the study ({})",
                units::format_human(end, Dimension::Time),
                units::format_human(duration, Dimension::Time)
            ),
            Some("lengthen `study.duration` or lower `count`".into()),
        );
    }
    if let Some(len) = infusion
        && count > 1
        && len > every
    {
        return c.err(
            &p.key("duration"),
            "infusions of this schedule overlap",
            Some("make the infusion shorter than `every`".into()),
        );
    }
    Ok(times)
}
