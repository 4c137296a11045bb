//! What a run directory must hold before a page is made of it.
//!
//! A report is often made from a directory that was copied, synced or
//! edited by hand, so [`crate::RunDir::load`] checks it before drawing
//! anything and refuses, naming the file and the field (and the row of a
//! table), a directory that a finished exosim run could not have written:
//!
//! * `summary.json` without one of the parts every run writes
//!   (`resolved_study`, `mass_balance`, `vesicles`, `solver_steps`), or
//!   without the part of an engine the resolved study ran (`biopsy`,
//!   `signature`, `tissue`), or without the part that goes with a table
//!   lying beside it (`timeseries.csv` without `vesicles`, ...);
//! * a table the summary announces that is missing (`tissue_timeseries.csv`,
//!   a test's ROC curve) or cut short (fewer rows than the study asked for,
//!   a time series that stops before the study's end);
//! * a value that is not a number, infinite or NaN where a run writes finite
//!   numbers, or impossible: a negative count or share (beyond what the
//!   solver's tolerance leaves near zero), a probability, AUC, sensitivity
//!   or specificity outside [0, 1], times that go backwards.

use std::path::Path;

use serde_json::Value;

use crate::error::ReportError;

/// What a value must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Finite.
    Finite,
    /// Finite and at least this (a count, a time, a share: 0).
    AtLeast(f64),
    /// Finite and within these bounds (probabilities: 0 to 1).
    Within(f64, f64),
    /// Not NaN (may be infinite: the ends of an ROC threshold column).
    NotNan,
}

impl Rule {
    /// Why `v` breaks the rule, or `None` when it keeps it.
    pub fn broken(self, v: f64) -> Option<String> {
        if v.is_nan() {
            return Some("NaN where a run writes a number".into());
        }
        match self {
            Rule::NotNan => None,
            _ if !v.is_finite() => Some(format!("{v} where a run writes a finite number")),
            Rule::Finite => None,
            Rule::AtLeast(lo) if v < lo => Some(if lo == 0.0 {
                format!("{v} is negative, which this value cannot be")
            } else {
                format!("{v} is below {lo}, which this value cannot be")
            }),
            Rule::Within(lo, hi) if v < lo || v > hi => {
                Some(format!("{v} is outside [{lo}, {hi}]"))
            }
            _ => None,
        }
    }
}

/// A located complaint about `path`.
pub fn invalid(
    path: &Path,
    row: Option<usize>,
    column: &str,
    message: impl Into<String>,
) -> ReportError {
    ReportError::Invalid {
        path: path.to_path_buf(),
        row,
        column: Some(column.to_string()),
        message: message.into(),
    }
}

/// Checks a column of a table: data row `i` is line `first_line + i`.
pub fn column(
    path: &Path,
    name: &str,
    values: &[f64],
    first_line: usize,
    rule: Rule,
) -> Result<(), ReportError> {
    for (i, &v) in values.iter().enumerate() {
        if let Some(why) = rule.broken(v) {
            return Err(invalid(path, Some(first_line + i), name, why));
        }
    }
    Ok(())
}

/// Checks that a column never decreases (times, diameters).
pub fn ascending(
    path: &Path,
    name: &str,
    values: &[f64],
    first_line: usize,
) -> Result<(), ReportError> {
    for (i, w) in values.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err(invalid(
                path,
                Some(first_line + i + 1),
                name,
                format!("{} after {}: the values must not decrease", w[1], w[0]),
            ));
        }
    }
    Ok(())
}

/// A JSON value at a dotted `field` of `summary.json`.
pub struct Json<'a> {
    path: &'a Path,
}

impl<'a> Json<'a> {
    /// Checks fields of the JSON file at `path`.
    pub fn new(path: &'a Path) -> Self {
        Json { path }
    }

    fn err(&self, field: &str, message: impl Into<String>) -> ReportError {
        invalid(self.path, None, field, message)
    }

    /// The object at `field` (which must be there).
    pub fn object<'v>(&self, v: Option<&'v Value>, field: &str) -> Result<&'v Value, ReportError> {
        match v {
            Some(x) if x.is_object() => Ok(x),
            Some(_) => Err(self.err(field, "not an object")),
            None => Err(self.err(field, "missing: every run writes it")),
        }
    }

    /// The array at `field` (which must be there).
    pub fn array<'v>(
        &self,
        v: Option<&'v Value>,
        field: &str,
    ) -> Result<&'v Vec<Value>, ReportError> {
        match v {
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(field, "not a list")),
            None => Err(self.err(field, "missing: every run writes it")),
        }
    }

    /// The string at `field` (which must be there).
    pub fn string<'v>(&self, v: Option<&'v Value>, field: &str) -> Result<&'v str, ReportError> {
        v.and_then(Value::as_str)
            .ok_or_else(|| self.err(field, "missing or not text"))
    }

    /// The number at `field`, which must be there and keep `rule`.
    pub fn number(&self, v: Option<&Value>, field: &str, rule: Rule) -> Result<f64, ReportError> {
        let x = v
            .and_then(Value::as_f64)
            .ok_or_else(|| self.err(field, "missing or not a number"))?;
        match rule.broken(x) {
            Some(why) => Err(self.err(field, why)),
            None => Ok(x),
        }
    }

    /// The number at `field` when there is one (`null` and absence are
    /// how a run writes a figure it could not estimate); it must keep `rule`.
    pub fn optional(
        &self,
        v: Option<&Value>,
        field: &str,
        rule: Rule,
    ) -> Result<Option<f64>, ReportError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(x) => self.number(Some(x), field, rule).map(Some),
        }
    }

    /// Every number of a nested `{time: {place: share}}` object.
    pub fn shares(
        &self,
        v: Option<&Value>,
        field: &str,
        required: bool,
    ) -> Result<(), ReportError> {
        let v = match v {
            None if !required => return Ok(()),
            v => self.object(v, field)?,
        };
        for (t, places) in v.as_object().into_iter().flatten() {
            let at = format!("{field}.{t}");
            if t.parse::<f64>()
                .map_or(true, |x| !(x >= 0.0 && x.is_finite()))
            {
                return Err(self.err(&at, "the key is not a time in seconds"));
            }
            let places = self.object(Some(places), &at)?;
            for (p, x) in places.as_object().into_iter().flatten() {
                // A share is of everything that entered; the solver may leave
                // rounding of that order around 0 and 1.
                self.number(
                    Some(x),
                    &format!("{at}.{p}"),
                    Rule::Within(-1e-6, 1.0 + 1e-6),
                )?;
            }
        }
        Ok(())
    }
}

/// The duration of the resolved study, s, when recorded (`"172800 s"`).
pub fn duration(summary: &Value) -> Option<f64> {
    let d = summary.pointer("/resolved_study/study/duration")?;
    d.as_f64()
        .or_else(|| d.as_str()?.strip_suffix(" s")?.trim().parse().ok())
}

/// Whether the resolved study ran an engine section (`biopsy`, `signature`,
/// `tissue`): present and not null.
pub fn ran(summary: &Value, section: &str) -> bool {
    summary
        .get("resolved_study")
        .and_then(|r| r.get(section))
        .is_some_and(|s| !s.is_null())
}

/// The parts of `summary.json` every run writes, and those the resolved
/// study and the tables beside it call for.
pub fn summary(dir: &Path, summary: &Value) -> Result<(), ReportError> {
    let path = dir.join("summary.json");
    let j = Json::new(&path);
    j.object(summary.get("resolved_study"), "resolved_study")?;
    let mb = j.object(summary.get("mass_balance"), "mass_balance")?;
    for key in [
        "relative_error",
        "dosed",
        "released",
        "present",
        "cleared",
        "degraded",
    ] {
        j.number(
            mb.get(key),
            &format!("mass_balance.{key}"),
            Rule::AtLeast(0.0),
        )?;
    }
    let vesicles = j.array(summary.get("vesicles"), "vesicles")?;
    j.array(summary.get("solver_steps"), "solver_steps")?;
    for (i, v) in vesicles.iter().enumerate() {
        let at = |k: &str| format!("vesicles[{i}].{k}");
        j.string(v.get("arm"), &at("arm"))?;
        j.string(v.get("vesicles"), &at("vesicles"))?;
        for k in ["dosed", "released", "mass_balance_relative_error"] {
            j.number(v.get(k), &at(k), Rule::AtLeast(0.0))?;
        }
        for k in ["drained_in_from_tissue", "extravasated_into_tissue"] {
            j.optional(v.get(k), &at(k), Rule::AtLeast(0.0))?;
        }
        j.shares(v.get("fraction_of_dose"), &at("fraction_of_dose"), true)?;
        // Written since exosim 0.1 reports cumulative delivery; older runs lack it.
        j.shares(
            v.get("fraction_delivered"),
            &at("fraction_delivered"),
            false,
        )?;
        if let Some(peaks) = v.get("peak_time_s") {
            let peaks = j.object(Some(peaks), &at("peak_time_s"))?;
            for (p, x) in peaks.as_object().into_iter().flatten() {
                j.number(
                    Some(x),
                    &at(&format!("peak_time_s.{p}")),
                    Rule::AtLeast(0.0),
                )?;
            }
        }
        match v.get("pk") {
            None => return Err(j.err(&at("pk"), "missing: every class result has it (or null)")),
            Some(Value::Null) => {}
            Some(pk) => {
                let pk = j.object(Some(pk), &at("pk"))?;
                for (k, x) in pk.as_object().into_iter().flatten() {
                    let rule = match k.as_str() {
                        "auc_extrapolated_fraction" => Rule::Within(0.0, 1.0),
                        // An adjusted R² may fall below zero on a poor fit.
                        "lambda_z_r2_adjusted" => Rule::Finite,
                        _ => Rule::AtLeast(0.0),
                    };
                    j.optional(Some(x), &at(&format!("pk.{k}")), rule)?;
                }
            }
        }
    }
    // Parts of the engines the study ran.
    // A blood test of conditions lists `condition_tests` instead of `tests`.
    let biopsy_list = if summary.pointer("/biopsy/condition_tests").is_some() {
        "/biopsy/condition_tests"
    } else {
        "/biopsy/tests"
    };
    for (section, list) in [
        ("biopsy", biopsy_list),
        ("signature", "/signature/conditions"),
    ] {
        if ran(summary, section) {
            j.object(summary.get(section), section)?;
            j.array(summary.pointer(list), &list[1..].replace('/', "."))?;
        }
    }
    if ran(summary, "tissue") {
        j.object(summary.get("tissue"), "tissue")?;
    }
    // Parts that go with the tables beside the summary.
    let pairs: [(&str, &str, bool); 4] = [
        ("timeseries.csv", "vesicles", !vesicles.is_empty()),
        (
            "biopsy_curve.csv",
            "biopsy",
            summary
                .pointer("/biopsy/tests")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty()),
        ),
        (
            "signature.csv",
            "signature",
            summary
                .pointer("/signature/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty()),
        ),
        (
            "tissue_timeseries.csv",
            "tissue",
            summary.get("tissue").is_some_and(Value::is_object),
        ),
    ];
    for (file, section, has) in pairs {
        if dir.join(file).is_file() && !has {
            return Err(j.err(
                section,
                format!("missing or empty, but the run wrote {file}: the summary lost a part"),
            ));
        }
    }
    if summary.get("tissue").is_some_and(Value::is_object)
        && !dir.join("tissue_timeseries.csv").is_file()
    {
        return Err(ReportError::MissingFile {
            path: dir.join("tissue_timeseries.csv"),
            why: "summary.json has a `tissue` part, and a tissue run writes its time series".into(),
        });
    }
    Ok(())
}
