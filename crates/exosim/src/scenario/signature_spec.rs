//! The `[signature]` section of a study file, as written: vesicle markers
//! measured in healthy people, diseases as shifts of those markers, and the
//! settings of the cross-validated multi-marker classifier.
//!
//! ```toml
//! [signature]
//! cohort = 300          # virtual individuals per condition (healthy included)
//! folds = 5             # cross-validation folds
//! lambda = 1.0          # L2 penalty of the logistic regression
//! noise_markers = 0     # extra uninformative markers (shows overfitting)
//! markers = [
//!   { name = "CD41+ EVs", healthy_median = "1e8 /mL", cv = 0.5 },
//!   { name = "miR-21", healthy_median = 1.0, cv = 0.6 },
//! ]
//! correlation = [[1, 0.3], [0.3, 1]]   # optional, identity by default
//!
//! [[signature.conditions]]
//! name = "lupus"
//! fold_change = [1.8, 1.5]
//! cv_scale = 1.0
//! ```
//!
//! Healthy people are always the reference group: conditions list diseases
//! only.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use crate::biopsy::panel::SignatureStudy;
use crate::biopsy::signature::{ConditionSpec, Correlation, MarkerSpec};
use crate::units::Concentration;

/// Default individuals per condition.
pub const DEFAULT_COHORT: u64 = 300;
/// Default cross-validation folds.
pub const DEFAULT_FOLDS: u64 = 5;
/// Default L2 penalty.
pub const DEFAULT_LAMBDA: f64 = 1.0;
/// Fewest individuals per condition.
pub const MIN_COHORT: u64 = 10;
/// Most individuals per condition.
pub const MAX_COHORT: u64 = 100_000;
/// Most cross-validation folds.
pub const MAX_FOLDS: u64 = 20;
/// Most markers in a panel, noise markers included.
pub const MAX_MARKERS: usize = 100;
/// Most diseases in one study.
pub const MAX_CONDITIONS: usize = 20;
/// Most values in one condition's cohort (individuals × markers), so that a
/// run stays within memory and minutes.
pub const MAX_COHORT_VALUES: u64 = 5_000_000;
/// Largest L2 penalty accepted.
pub const MAX_LAMBDA: f64 = 1e9;
/// Largest coefficient of variation (and CV scale).
pub const MAX_CV: f64 = 10.0;

/// `[signature]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSpec {
    /// Virtual individuals per condition (the healthy reference included).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub cohort: Option<u64>,
    /// Cross-validation folds.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub folds: Option<u64>,
    /// L2 penalty of the logistic regression: the weight of ½‖w‖² against
    /// the summed log-likelihood.
    #[serde(default)]
    pub lambda: Option<f64>,
    /// Uninformative markers added to the panel (same in every condition).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub noise_markers: Option<u64>,
    /// Markers measured, as found in healthy people.
    #[serde(default)]
    pub markers: Vec<SignatureMarkerSpec>,
    /// Correlation of the log-markers between individuals (rows and columns
    /// in marker order); identity when absent.
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    /// Diseases compared with healthy people.
    #[serde(default)]
    pub conditions: Vec<SignatureConditionSpec>,
}

/// One marker of `signature.markers`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureMarkerSpec {
    /// Name, for outputs.
    pub name: String,
    /// Median in healthy people.
    pub healthy_median: MarkerLevel,
    /// Coefficient of variation between healthy people (0.5 = 50 %).
    pub cv: f64,
}

/// `[[signature.conditions]]`: a disease as a shift of the healthy markers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConditionSpec {
    /// Name, for outputs and file names.
    pub name: String,
    /// Per marker, the factor multiplying the healthy median.
    pub fold_change: Vec<f64>,
    /// Factor multiplying every marker's CV (default 1).
    #[serde(default)]
    pub cv_scale: Option<f64>,
}

/// A marker's healthy median as written: a number concentration with its
/// unit (`"1e8 /mL"`), or a bare number in the assay's own arbitrary units
/// (relative expression of a microRNA, an ELISA reading). Markers are
/// compared on the log scale, so the unit cancels and only matters for the
/// reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkerLevel {
    /// A number concentration (SI, 1/m³).
    Concentration(Concentration),
    /// Arbitrary units.
    Arbitrary(f64),
}

impl MarkerLevel {
    /// The value used by the generator: SI for a concentration, as written
    /// otherwise.
    pub fn value(self) -> f64 {
        match self {
            MarkerLevel::Concentration(c) => c.si(),
            MarkerLevel::Arbitrary(x) => x,
        }
    }

    /// The unit of [`MarkerLevel::value`], for outputs.
    pub fn unit(self) -> &'static str {
        match self {
            MarkerLevel::Concentration(_) => "/m3",
            MarkerLevel::Arbitrary(_) => "a.u.",
        }
    }
}

impl Serialize for MarkerLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MarkerLevel::Concentration(c) => c.serialize(serializer),
            MarkerLevel::Arbitrary(x) => serializer.serialize_f64(*x),
        }
    }
}

impl<'de> Deserialize<'de> for MarkerLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelVisitor;

        impl Visitor<'_> for LevelVisitor {
            type Value = MarkerLevel;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a concentration with a unit, such as \"1e8 /mL\", or a bare number in arbitrary units",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<MarkerLevel, E> {
                text.parse::<Concentration>()
                    .map(MarkerLevel::Concentration)
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid concentration: {e} (write a bare number for arbitrary units)"
                        ))
                    })
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<MarkerLevel, E> {
                Ok(MarkerLevel::Arbitrary(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<MarkerLevel, E> {
                Ok(MarkerLevel::Arbitrary(value as f64))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<MarkerLevel, E> {
                Ok(MarkerLevel::Arbitrary(value as f64))
            }
        }

        deserializer.deserialize_any(LevelVisitor)
    }
}

/// Validates `[signature]` (at `path`) into a runnable study; also returns
/// the section with its defaults filled in, for the resolved study.
pub fn resolve_signature(
    spec: &SignatureSpec,
    loc: &Locator,
    path: &KeyPath,
) -> Res<(SignatureStudy, SignatureSpec)> {
    let c = Check::new(loc);
    let (cohort, folds, lambda) = settings(&c, spec, path)?;
    let (markers, noise) = markers(&c, spec, path, cohort)?;
    let n_markers = spec.markers.len();
    let total = markers.len();
    let correlation = correlation(&c, spec, path, n_markers, total)?;
    let (conditions, filled_conditions) = conditions(&c, spec, path, n_markers, total)?;
    let filled = SignatureSpec {
        cohort: Some(cohort),
        folds: Some(folds),
        lambda: Some(lambda),
        noise_markers: Some(noise),
        markers: spec.markers.clone(),
        correlation: spec.correlation.clone(),
        conditions: filled_conditions,
    };
    Ok((
        SignatureStudy {
            markers,
            informative_markers: n_markers,
            correlation,
            conditions,
            cohort: cohort as usize,
            folds: folds as usize,
            lambda,
        },
        filled,
    ))
}

/// The cohort, the folds and the penalty.
fn settings(c: &Check, spec: &SignatureSpec, path: &KeyPath) -> Res<(u64, u64, f64)> {
    let cohort = c.count_in(
        &path.key("cohort"),
        spec.cohort.unwrap_or(DEFAULT_COHORT),
        MIN_COHORT,
        MAX_COHORT,
        "individuals per condition",
    )?;
    let folds = c.count_in(
        &path.key("folds"),
        spec.folds.unwrap_or(DEFAULT_FOLDS),
        2,
        MAX_FOLDS,
        "cross-validation folds",
    )?;
    if folds > cohort {
        return c.err(
            &path.key("folds"),
            format!("{folds} folds for {cohort} individuals per condition"),
            Some("every fold needs at least one individual of each group".into()),
        );
    }
    let lambda = spec.lambda.unwrap_or(DEFAULT_LAMBDA);
    if !(lambda.is_finite() && (0.0..=MAX_LAMBDA).contains(&lambda)) {
        return c.err(
            &path.key("lambda"),
            format!("penalty {lambda} is out of range"),
            Some(format!("use 0 (no penalty) to {MAX_LAMBDA:e}")),
        );
    }
    Ok((cohort, folds, lambda))
}

/// The markers named by the study, then the noise markers; and how many
/// of those there are.
fn markers(
    c: &Check,
    spec: &SignatureSpec,
    path: &KeyPath,
    cohort: u64,
) -> Res<(Vec<MarkerSpec>, u64)> {
    let mp = path.key("markers");
    let n_markers = spec.markers.len();
    if n_markers == 0 || n_markers > MAX_MARKERS {
        return c.err(
            &mp,
            format!("{n_markers} markers"),
            Some(format!("give 1 to {MAX_MARKERS} markers")),
        );
    }
    let noise = spec.noise_markers.unwrap_or(0);
    let room = (MAX_MARKERS - n_markers) as u64;
    if noise > room {
        return c.err(
            &path.key("noise_markers"),
            format!("{noise} noise markers on top of {n_markers} markers"),
            Some(format!(
                "at most {MAX_MARKERS} markers in all: use 0 to {room}"
            )),
        );
    }
    let total = n_markers + noise as usize;
    if cohort * total as u64 > MAX_COHORT_VALUES {
        return c.err(
            &path.key("cohort"),
            format!(
                "{cohort} individuals × {total} markers is more than {MAX_COHORT_VALUES} values per condition"
            ),
            Some("use a smaller cohort or fewer markers".into()),
        );
    }
    let noise_name = |i: usize| format!("noise_{}", i + 1);
    let mut markers = Vec::with_capacity(total);
    for (i, m) in spec.markers.iter().enumerate() {
        let p = mp.index(i);
        let name = c.label(&p.key("name"), &m.name, "marker")?;
        if markers.iter().any(|x: &MarkerSpec| x.name == name)
            || (0..noise as usize).any(|j| noise_name(j) == name)
        {
            return c.err(
                &p.key("name"),
                format!("marker `{name}` is named twice"),
                Some("names `noise_1`, `noise_2`, … are taken by `noise_markers`".into()),
            );
        }
        let median = m.healthy_median.value();
        if !(median.is_finite() && median > 0.0) {
            return c.err(
                &p.key("healthy_median"),
                format!("median {median} must be finite and greater than zero"),
                None,
            );
        }
        if !(m.cv.is_finite() && m.cv > 0.0 && m.cv <= MAX_CV) {
            return c.err(
                &p.key("cv"),
                format!("CV {} is out of range", m.cv),
                Some(format!(
                    "a coefficient of variation above 0, at most {MAX_CV} (0.5 = 50 %)"
                )),
            );
        }
        markers.push(MarkerSpec {
            name: name.to_string(),
            healthy_median: median,
            cv: m.cv,
        });
    }
    // Noise markers: unit median, a CV typical of vesicle assays.
    markers.extend((0..noise as usize).map(|j| MarkerSpec {
        name: noise_name(j),
        healthy_median: 1.0,
        cv: NOISE_CV,
    }));

    Ok((markers, noise))
}

/// The correlation of the markers, widened by independent noise markers.
fn correlation(
    c: &Check,
    spec: &SignatureSpec,
    path: &KeyPath,
    n_markers: usize,
    total: usize,
) -> Res<Correlation> {
    let cp = path.key("correlation");
    let mut matrix: Vec<Vec<f64>> = match &spec.correlation {
        None => (0..n_markers)
            .map(|i| {
                (0..n_markers)
                    .map(|j| f64::from(u8::from(i == j)))
                    .collect()
            })
            .collect(),
        Some(rows) => {
            if rows.len() != n_markers {
                return c.err(
                    &cp,
                    format!("{} rows for {n_markers} markers", rows.len()),
                    Some(format!(
                        "give a {n_markers} × {n_markers} matrix, markers in order"
                    )),
                );
            }
            if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n_markers) {
                return c.err(
                    &cp.index(i),
                    format!("row {i} has {} entries for {n_markers} markers", r.len()),
                    Some(format!(
                        "give a {n_markers} × {n_markers} matrix, markers in order"
                    )),
                );
            }
            rows.clone()
        }
    };
    if let Err(e) = Correlation::new(matrix.clone()) {
        return c.err(
            &cp,
            e.to_string(),
            Some("a correlation matrix is symmetric with a unit diagonal, and no set of markers can have correlations that contradict each other (the matrix must be positive definite)".into()),
        );
    }
    for row in &mut matrix {
        row.resize(total, 0.0);
    }
    matrix.extend(
        (n_markers..total).map(|i| (0..total).map(|j| f64::from(u8::from(i == j))).collect()),
    );
    Correlation::new(matrix).map_err(|e| {
        c.loc
            .error(&cp, format!("with the noise markers: {e}"), None)
    })
}

/// The diseases, each a shift of the healthy markers.
#[allow(clippy::type_complexity)]
fn conditions(
    c: &Check,
    spec: &SignatureSpec,
    path: &KeyPath,
    n_markers: usize,
    total: usize,
) -> Res<(Vec<ConditionSpec>, Vec<SignatureConditionSpec>)> {
    let kp = path.key("conditions");
    if spec.conditions.is_empty() || spec.conditions.len() > MAX_CONDITIONS {
        return c.err(
            &kp,
            format!("{} conditions", spec.conditions.len()),
            Some(format!(
                "give 1 to {MAX_CONDITIONS} `[[signature.conditions]]` diseases (healthy people are always the reference)"
            )),
        );
    }
    let mut conditions: Vec<ConditionSpec> = Vec::new();
    let mut filled_conditions = Vec::new();
    for (i, k) in spec.conditions.iter().enumerate() {
        let p = kp.index(i);
        let name = c.label(&p.key("name"), &k.name, "condition")?;
        if name.eq_ignore_ascii_case("healthy") {
            return c.err(
                &p.key("name"),
                "`healthy` is always the reference group",
                Some("list diseases only".into()),
            );
        }
        if conditions.iter().any(|x| x.name == name) {
            return c.err(
                &p.key("name"),
                format!("condition `{name}` is defined twice"),
                None,
            );
        }
        let fp = p.key("fold_change");
        if k.fold_change.len() != n_markers {
            return c.err(
                &fp,
                format!(
                    "{} fold changes for {n_markers} markers",
                    k.fold_change.len()
                ),
                Some("give one fold change per marker, in the order of `signature.markers` (1 = unchanged)".into()),
            );
        }
        for (j, &fc) in k.fold_change.iter().enumerate() {
            if !(fc.is_finite() && fc > 0.0) {
                return c.err(
                    &fp.index(j),
                    format!("fold change {fc} must be finite and greater than zero"),
                    Some("1 = unchanged, 2 = doubled, 0.5 = halved".into()),
                );
            }
        }
        let cv_scale = k.cv_scale.unwrap_or(1.0);
        if !(cv_scale.is_finite() && cv_scale > 0.0 && cv_scale <= MAX_CV) {
            return c.err(
                &p.key("cv_scale"),
                format!("CV scale {cv_scale} is out of range"),
                Some(format!(
                    "above 0, at most {MAX_CV} (1 = as variable as healthy people)"
                )),
            );
        }
        let mut fold_change = k.fold_change.clone();
        fold_change.resize(total, 1.0);
        conditions.push(ConditionSpec {
            name: name.to_string(),
            fold_change,
            cv_scale,
        });
        filled_conditions.push(SignatureConditionSpec {
            cv_scale: Some(cv_scale),
            ..k.clone()
        });
    }

    Ok((conditions, filled_conditions))
}

/// CV of the noise markers between individuals (their median is 1 a.u.).
pub const NOISE_CV: f64 = 0.5;
