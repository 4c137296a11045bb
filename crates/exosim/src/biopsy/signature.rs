//! Multi-marker signatures: virtual cohorts whose vesicle markers are
//! log-normal and correlated, and a regularised logistic-regression
//! classifier judged by cross-validation.
//!
//! Published EV panels often report an AUC on the data they were fitted to
//! (e.g. 0.94 in training against 0.75 on held-out data, see
//! docs/references.md#disease-signatures); this module makes that gap
//! reproducible by reporting training and held-out AUC side by side.
//!
//! Every random draw comes from [`crate::random::stream`]: individual `i` of
//! a cohort from `stream(seed, domain, i)`, fold assignment from
//! `stream(seed, CV_FOLD_DOMAIN, 0 | 1)`, so results are bit-identical
//! whatever the thread count or the order in which individuals are made.

use rand::RngExt;
use rand_distr::StandardNormal;

use super::{logistic, roc};
use crate::random;

/// Why a cohort could not be generated or a signature not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    /// A correlation matrix row has the wrong length.
    #[error("correlation matrix is not square: row {row} has {len} entries, expected {expected}")]
    NotSquare {
        /// The offending row.
        row: usize,
        /// Its length.
        len: usize,
        /// The number of rows.
        expected: usize,
    },
    /// A correlation matrix entry is NaN or infinite.
    #[error("correlation matrix entry ({i}, {j}) is not finite")]
    NotFinite {
        /// Row.
        i: usize,
        /// Column.
        j: usize,
    },
    /// The correlation matrix differs from its transpose.
    #[error("correlation matrix is not symmetric: ({i}, {j}) = {a} but ({j}, {i}) = {b}")]
    NotSymmetric {
        /// Row.
        i: usize,
        /// Column.
        j: usize,
        /// Entry (i, j).
        a: f64,
        /// Entry (j, i).
        b: f64,
    },
    /// A diagonal entry is not 1.
    #[error("correlation matrix diagonal entry {i} is {value}, not 1")]
    DiagonalNotOne {
        /// The index.
        i: usize,
        /// The entry.
        value: f64,
    },
    /// The Cholesky factorisation failed: no set of markers can have these
    /// correlations (or two markers are perfectly correlated).
    #[error("correlation matrix is not positive definite (Cholesky pivot {pivot:e} at row {row})")]
    NotPositiveDefinite {
        /// The row at which the factorisation failed.
        row: usize,
        /// The non-positive pivot found there.
        pivot: f64,
    },
    /// Two inputs that must agree in size do not.
    #[error("{what}: expected {expected} values, got {got}")]
    DimensionMismatch {
        /// What was being matched.
        what: String,
        /// The size required.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// A parameter or a measurement is out of its domain.
    #[error("invalid {what}: {value}")]
    InvalidValue {
        /// What it is and which rule it breaks.
        what: String,
        /// The value given.
        value: f64,
    },
    /// Too few individuals for the requested fit or number of folds.
    #[error("too few individuals: {0}")]
    TooFewIndividuals(String),
    /// The logistic-regression solver failed.
    #[error("logistic regression failed: {0}")]
    Fit(String),
}

/// A vesicle marker's distribution in healthy people: log-normal, described
/// the way assays are reported (median and coefficient of variation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MarkerSpec {
    /// Marker name (for reports).
    pub name: String,
    /// Median in healthy individuals (any positive unit; markers are
    /// compared on the log scale, so the unit cancels).
    pub healthy_median: f64,
    /// Coefficient of variation between individuals; the log-scale standard
    /// deviation is √(ln(1 + cv²)).
    pub cv: f64,
}

/// A condition (health or a disease) as a shift of the healthy marker
/// distributions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConditionSpec {
    /// Condition name (for reports).
    pub name: String,
    /// Per marker, the factor multiplying the healthy median (1 = unchanged).
    pub fold_change: Vec<f64>,
    /// Factor multiplying every marker's cv (1 = same variability as in
    /// healthy people; diseases often widen it).
    pub cv_scale: f64,
}

impl ConditionSpec {
    /// Healthy people: every fold change 1, the same variability.
    pub fn healthy(n_markers: usize) -> Self {
        ConditionSpec {
            name: "healthy".into(),
            fold_change: vec![1.0; n_markers],
            cv_scale: 1.0,
        }
    }
}

/// The log-scale log-sd of a log-normal with coefficient of variation `cv`.
pub fn log_sd(cv: f64) -> f64 {
    cv.mul_add(cv, 1.0).ln().sqrt()
}

/// A validated correlation matrix between markers on the log scale, with its
/// Cholesky factor: markers of one vesicle population move together (they
/// share the vesicles' number), and ignoring this overstates what a panel
/// adds over its best marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    matrix: Vec<Vec<f64>>,
    /// Lower-triangular L with L·Lᵀ = matrix.
    cholesky: Vec<Vec<f64>>,
}

/// Tolerance for symmetry and the unit diagonal (entries typed by hand or
/// read from a file).
const MATRIX_TOL: f64 = 1e-9;

impl Correlation {
    /// Validates the matrix: square, finite, symmetric, unit diagonal and
    /// positive definite (checked by Cholesky factorisation, whose factor is
    /// what generation needs anyway).
    pub fn new(matrix: Vec<Vec<f64>>) -> Result<Self, SignatureError> {
        let k = matrix.len();
        for (row, r) in matrix.iter().enumerate() {
            if r.len() != k {
                return Err(SignatureError::NotSquare {
                    row,
                    len: r.len(),
                    expected: k,
                });
            }
            if let Some(j) = r.iter().position(|v| !v.is_finite()) {
                return Err(SignatureError::NotFinite { i: row, j });
            }
        }
        for (i, row) in matrix.iter().enumerate() {
            if (row[i] - 1.0).abs() > MATRIX_TOL {
                return Err(SignatureError::DiagonalNotOne { i, value: row[i] });
            }
            for (j, &a) in row.iter().enumerate().take(i) {
                let b = matrix[j][i];
                if (a - b).abs() > MATRIX_TOL {
                    return Err(SignatureError::NotSymmetric { i, j, a, b });
                }
            }
        }
        let mut l = vec![vec![0.0; k]; k];
        for i in 0..k {
            for j in 0..=i {
                let s: f64 = (0..j).map(|p| l[i][p] * l[j][p]).sum();
                if i == j {
                    let pivot = matrix[i][i] - s;
                    if pivot <= MATRIX_TOL {
                        return Err(SignatureError::NotPositiveDefinite { row: i, pivot });
                    }
                    l[i][i] = pivot.sqrt();
                } else {
                    l[i][j] = (matrix[i][j] - s) / l[j][j];
                }
            }
        }
        Ok(Correlation {
            matrix,
            cholesky: l,
        })
    }

    /// Independent markers.
    pub fn identity(k: usize) -> Self {
        let matrix: Vec<Vec<f64>> = (0..k)
            .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        Correlation {
            cholesky: matrix.clone(),
            matrix,
        }
    }

    /// The number of markers it correlates.
    pub fn dim(&self) -> usize {
        self.matrix.len()
    }

    /// The validated matrix.
    pub fn matrix(&self) -> &[Vec<f64>] {
        &self.matrix
    }
}

fn invalid(what: impl Into<String>, value: f64) -> SignatureError {
    SignatureError::InvalidValue {
        what: what.into(),
        value,
    }
}

/// A virtual cohort of `n` individuals with `condition`: rows are
/// individuals, columns the markers' values on their natural (linear)
/// scale.
///
/// Marker k of an individual is exp(ln(medianₖ·fcₖ) + σₖ·zₖ) with
/// σₖ = √(ln(1 + (cvₖ·cv_scale)²)) and z = L·ε, L the Cholesky factor of
/// `correlation` and ε independent standard normals, so the log-markers
/// have exactly the requested correlation. Individual i draws only from
/// `random::stream(seed, domain, i)`: a cohort of n is the first n rows of
/// any larger cohort with the same seed and domain.
pub fn generate_cohort(
    markers: &[MarkerSpec],
    condition: &ConditionSpec,
    correlation: &Correlation,
    n: usize,
    seed: u64,
    domain: u64,
) -> Result<Vec<Vec<f64>>, SignatureError> {
    let k = markers.len();
    if condition.fold_change.len() != k {
        return Err(SignatureError::DimensionMismatch {
            what: format!("fold changes of condition '{}'", condition.name),
            expected: k,
            got: condition.fold_change.len(),
        });
    }
    if correlation.dim() != k {
        return Err(SignatureError::DimensionMismatch {
            what: "correlation matrix size".into(),
            expected: k,
            got: correlation.dim(),
        });
    }
    if !(condition.cv_scale.is_finite() && condition.cv_scale >= 0.0) {
        return Err(invalid(
            format!("cv_scale of '{}' (must be finite, >= 0)", condition.name),
            condition.cv_scale,
        ));
    }
    let mut log_median = Vec::with_capacity(k);
    let mut sigma = Vec::with_capacity(k);
    for (m, &fc) in markers.iter().zip(&condition.fold_change) {
        if !(m.healthy_median.is_finite() && m.healthy_median > 0.0) {
            return Err(invalid(
                format!("healthy median of '{}' (must be finite, > 0)", m.name),
                m.healthy_median,
            ));
        }
        if !(m.cv.is_finite() && m.cv >= 0.0) {
            return Err(invalid(
                format!("cv of '{}' (must be finite, >= 0)", m.name),
                m.cv,
            ));
        }
        if !(fc.is_finite() && fc > 0.0) {
            return Err(invalid(
                format!("fold change of '{}' (must be finite, > 0)", m.name),
                fc,
            ));
        }
        log_median.push((m.healthy_median * fc).ln());
        sigma.push(log_sd(m.cv * condition.cv_scale));
    }
    let l = &correlation.cholesky;
    Ok((0..n)
        .map(|i| {
            let mut rng = random::stream(seed, domain, i as u64);
            let eps: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
            (0..k)
                .map(|r| {
                    let z: f64 = (0..=r).map(|c| l[r][c] * eps[c]).sum();
                    (log_median[r] + sigma[r] * z).exp()
                })
                .collect()
        })
        .collect())
}

/// A fitted signature: L2-regularised logistic regression on log-transformed
/// markers standardised with the training set's means and standard
/// deviations (so the penalty treats markers of different units alike, and
/// nothing about held-out data leaks into the model).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    log_mean: Vec<f64>,
    log_sd: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

/// Checks a set of rows: `k` markers each (`k` from the first row when
/// `None`), every value finite and positive (they are log-transformed).
fn check_rows(rows: &[Vec<f64>], what: &str, k: Option<usize>) -> Result<usize, SignatureError> {
    let k = k.or_else(|| rows.first().map(Vec::len)).unwrap_or(0);
    for row in rows {
        if row.len() != k {
            return Err(SignatureError::DimensionMismatch {
                what: format!("markers per individual among {what}"),
                expected: k,
                got: row.len(),
            });
        }
        if let Some(&v) = row.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(invalid(
                format!("marker value among {what} (must be finite, > 0)"),
                v,
            ));
        }
    }
    Ok(k)
}

impl Signature {
    /// Fits the signature to labelled individuals: an L2-regularised
    /// logistic regression on the standardised log-markers
    /// ([`logistic::fit`], Newton's method). `lambda` weighs ½‖w‖² against
    /// the *summed* (not averaged) log-likelihood, so a given lambda
    /// regularises less as the training set grows; the intercept is not
    /// penalised. With `lambda = 0` and groups that the markers separate no
    /// finite fit exists, and the weights are those after
    /// [`logistic::MAX_NEWTON_STEPS`] steps along the separating direction.
    pub fn fit(
        cases: &[Vec<f64>],
        controls: &[Vec<f64>],
        lambda: f64,
    ) -> Result<Self, SignatureError> {
        if cases.is_empty() || controls.is_empty() {
            return Err(SignatureError::TooFewIndividuals(format!(
                "a fit needs cases and controls, got {} and {}",
                cases.len(),
                controls.len()
            )));
        }
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(invalid("lambda (must be finite, >= 0)", lambda));
        }
        let k = check_rows(cases, "cases", None)?;
        check_rows(controls, "controls", Some(k))?;
        if k == 0 {
            return Err(invalid("number of markers (must be >= 1)", 0.0));
        }
        let rows: Vec<&Vec<f64>> = cases.iter().chain(controls).collect();
        let n = rows.len() as f64;
        let mut log_mean = vec![0.0; k];
        let mut log_sd = vec![0.0; k];
        for j in 0..k {
            let mean = rows.iter().map(|r| r[j].ln()).sum::<f64>() / n;
            let var =
                rows.iter().map(|r| (r[j].ln() - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            log_mean[j] = mean;
            // A constant marker carries no information; dividing by 1 keeps
            // it finite (its standardised value is 0 for every training row).
            log_sd[j] = if var > 0.0 { var.sqrt() } else { 1.0 };
        }
        let mut x = Vec::with_capacity(rows.len() * k);
        for r in &rows {
            for j in 0..k {
                x.push((r[j].ln() - log_mean[j]) / log_sd[j]);
            }
        }
        // Label 1 = case, so a larger linear predictor means more likely
        // diseased.
        let y: Vec<bool> = (0..rows.len()).map(|i| i < cases.len()).collect();
        let model = logistic::fit(&x, &y, k, lambda);
        if !(model.intercept.is_finite() && model.weights.iter().all(|w| w.is_finite())) {
            return Err(SignatureError::Fit(format!(
                "the fit did not stay finite after {} Newton steps",
                model.steps
            )));
        }
        Ok(Signature {
            log_mean,
            log_sd,
            weights: model.weights,
            intercept: model.intercept,
        })
    }

    /// The individual's log-odds of being a case: the signature's score,
    /// monotone in the fitted probability but without its saturation at 0
    /// and 1 (which would create spurious ties in an AUC). `None` when the
    /// row has the wrong number of markers or a value that is not finite and
    /// positive.
    pub fn score(&self, individual: &[f64]) -> Option<f64> {
        if individual.len() != self.weights.len()
            || individual.iter().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return None;
        }
        let s = individual
            .iter()
            .zip(self.log_mean.iter().zip(&self.log_sd))
            .zip(&self.weights)
            .map(|((v, (m, sd)), w)| w * (v.ln() - m) / sd)
            .sum::<f64>();
        Some(s + self.intercept)
    }

    /// Scores of many individuals; an unusable row scores NaN, which
    /// [`roc`] drops as a missing measurement.
    pub fn scores(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        rows.iter()
            .map(|r| self.score(r).unwrap_or(f64::NAN))
            .collect()
    }

    /// Weights of the standardised log-markers: comparable between markers,
    /// so they rank the markers' contributions.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The log-odds of an individual at the training means.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }
}

/// The AUC of `model` separating `cases` from `controls`.
fn model_auc(model: &Signature, cases: &[Vec<f64>], controls: &[Vec<f64>]) -> f64 {
    roc::auc(&model.scores(cases), &model.scores(controls)).unwrap_or(f64::NAN)
}

/// Fits on one set and evaluates on another: (training AUC, held-out AUC).
/// The difference is the optimism of reporting the training AUC.
pub fn train_test_auc(
    train_cases: &[Vec<f64>],
    train_controls: &[Vec<f64>],
    test_cases: &[Vec<f64>],
    test_controls: &[Vec<f64>],
    lambda: f64,
) -> Result<(f64, f64), SignatureError> {
    let model = Signature::fit(train_cases, train_controls, lambda)?;
    let k = model.weights.len();
    check_rows(test_cases, "held-out cases", Some(k))?;
    check_rows(test_controls, "held-out controls", Some(k))?;
    if test_cases.is_empty() || test_controls.is_empty() {
        return Err(SignatureError::TooFewIndividuals(
            "held-out set needs cases and controls".into(),
        ));
    }
    Ok((
        model_auc(&model, train_cases, train_controls),
        model_auc(&model, test_cases, test_controls),
    ))
}

/// The outcome of a cross-validation: how well a signature does on the data
/// it learnt from and on data it has not seen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CvResult {
    /// Mean over folds of the AUC on each fold's training data (optimistic).
    pub train_auc: f64,
    /// Mean over folds of the AUC on each fold's held-out data (the
    /// estimate of performance in new individuals).
    pub test_auc: f64,
    /// Per fold, (training AUC, held-out AUC).
    pub per_fold: Vec<(f64, f64)>,
}

/// The random-stream domain of cross-validation fold assignment
/// (entity 0 shuffles the cases, entity 1 the controls).
pub const CV_FOLD_DOMAIN: u64 = 0xC5F0_1D00;

/// The fold of each of `n` individuals: a seeded shuffle (Fisher–Yates),
/// then positions dealt round-robin, so fold sizes differ by at most one.
fn assign_folds(n: usize, folds: usize, seed: u64, entity: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = random::stream(seed, CV_FOLD_DOMAIN, entity);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    let mut fold = vec![0; n];
    for (pos, &idx) in order.iter().enumerate() {
        fold[idx] = pos % folds;
    }
    fold
}

/// Stratified k-fold cross-validation of the signature: cases and controls
/// are dealt into `folds` folds separately (so every fold keeps the
/// case/control ratio), each fold is held out once while a model is fitted
/// on the rest (standardisation included), and the AUCs are averaged.
///
/// Requires 2 ≤ `folds` ≤ the size of the smaller group, so that every fold
/// holds at least one case and one control.
pub fn cross_validated_auc(
    cases: &[Vec<f64>],
    controls: &[Vec<f64>],
    folds: usize,
    lambda: f64,
    seed: u64,
) -> Result<CvResult, SignatureError> {
    if folds < 2 {
        return Err(SignatureError::TooFewIndividuals(format!(
            "cross-validation needs at least 2 folds, got {folds}"
        )));
    }
    let smaller = cases.len().min(controls.len());
    if smaller < folds {
        return Err(SignatureError::TooFewIndividuals(format!(
            "{folds} folds need at least {folds} cases and {folds} controls, got {} and {}",
            cases.len(),
            controls.len()
        )));
    }
    let k = check_rows(cases, "cases", None)?;
    check_rows(controls, "controls", Some(k))?;
    let case_fold = assign_folds(cases.len(), folds, seed, 0);
    let control_fold = assign_folds(controls.len(), folds, seed, 1);
    let split = |rows: &[Vec<f64>], fold_of: &[usize], f: usize| {
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (row, &g) in rows.iter().zip(fold_of) {
            if g == f {
                test.push(row.clone());
            } else {
                train.push(row.clone());
            }
        }
        (train, test)
    };
    let per_fold = (0..folds)
        .map(|f| {
            let (train_cases, test_cases) = split(cases, &case_fold, f);
            let (train_controls, test_controls) = split(controls, &control_fold, f);
            train_test_auc(
                &train_cases,
                &train_controls,
                &test_cases,
                &test_controls,
                lambda,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mean = |pick: fn(&(f64, f64)) -> f64| {
        per_fold.iter().map(pick).sum::<f64>() / per_fold.len() as f64
    };
    Ok(CvResult {
        train_auc: mean(|p| p.0),
        test_auc: mean(|p| p.1),
        per_fold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(k: usize, cv: f64) -> Vec<MarkerSpec> {
        (0..k)
            .map(|i| MarkerSpec {
                name: format!("m{i}"),
                healthy_median: 10.0 * (i + 1) as f64,
                cv,
            })
            .collect()
    }

    /// Disease differs from health in marker 0 only, by `fc`.
    fn disease(k: usize, fc: f64) -> ConditionSpec {
        let mut fold_change = vec![1.0; k];
        fold_change[0] = fc;
        ConditionSpec {
            name: "disease".into(),
            fold_change,
            cv_scale: 1.0,
        }
    }

    /// Hanley & McNeil (1982, docs/references.md#hanley-mcneil-1982) standard error of an AUC `a` with n cases and
    /// m controls.
    fn hanley_mcneil_se(a: f64, n: usize, m: usize) -> f64 {
        let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
        let (n, m) = (n as f64, m as f64);
        ((a * (1.0 - a) + (n - 1.0) * (q1 - a * a) + (m - 1.0) * (q2 - a * a)) / (n * m)).sqrt()
    }

    #[test]
    fn cross_validated_auc_matches_the_binormal_closed_form() {
        let (k, cv, fc, n) = (3, 0.5, 1.5, 2000);
        let mk = markers(k, cv);
        let corr = Correlation::identity(k);
        let cases = generate_cohort(&mk, &disease(k, fc), &corr, n, 11, 1).unwrap();
        let controls = generate_cohort(&mk, &ConditionSpec::healthy(k), &corr, n, 11, 2).unwrap();
        let sigma = log_sd(cv);
        let truth = roc::binormal_auc(fc.ln(), sigma, 0.0, sigma);
        let cv_result = cross_validated_auc(&cases, &controls, 5, 1.0, 3).unwrap();
        // Held-out folds are disjoint, so the mean over folds has about the
        // standard error of one AUC on all n + n individuals.
        let se = hanley_mcneil_se(truth, n, n);
        println!(
            "closed form {truth:.4}, CV test AUC {:.4}, train {:.4}, SE {se:.4}",
            cv_result.test_auc, cv_result.train_auc
        );
        assert!(
            (cv_result.test_auc - truth).abs() < 4.0 * se,
            "test AUC {} vs closed form {truth} (4 SE = {})",
            cv_result.test_auc,
            4.0 * se
        );
        // With 2 noise markers and 3200 training individuals there is
        // almost no optimism.
        assert!((cv_result.train_auc - cv_result.test_auc).abs() < 0.02);
    }

    #[test]
    fn overfitting_shows_as_a_train_test_gap() {
        // 1 informative marker (closed-form AUC 0.73) and 40 noise markers,
        // 60 individuals per group, almost no penalty.
        let (k, n) = (41, 60);
        let mk = markers(k, 0.5);
        let corr = Correlation::identity(k);
        let cases = generate_cohort(&mk, &disease(k, 1.5), &corr, n, 5, 1).unwrap();
        let controls = generate_cohort(&mk, &ConditionSpec::healthy(k), &corr, n, 5, 2).unwrap();
        let r = cross_validated_auc(&cases, &controls, 5, 1e-6, 9).unwrap();
        println!(
            "overfitting: train AUC {:.3}, test AUC {:.3}",
            r.train_auc, r.test_auc
        );
        assert!(r.train_auc > 0.95, "train {}", r.train_auc);
        assert!(
            r.test_auc < r.train_auc - 0.15,
            "test {} train {}",
            r.test_auc,
            r.train_auc
        );
        // A strong penalty narrows the gap.
        let shrunk = cross_validated_auc(&cases, &controls, 5, 100.0, 9).unwrap();
        println!(
            "lambda 100: train AUC {:.3}, test AUC {:.3}",
            shrunk.train_auc, shrunk.test_auc
        );
        assert!(shrunk.train_auc - shrunk.test_auc < r.train_auc - r.test_auc);
    }

    #[test]
    fn invalid_correlation_matrices_are_rejected() {
        let not_pd = vec![
            vec![1.0, 0.9, -0.9],
            vec![0.9, 1.0, 0.9],
            vec![-0.9, 0.9, 1.0],
        ];
        assert!(matches!(
            Correlation::new(not_pd),
            Err(SignatureError::NotPositiveDefinite { .. })
        ));
        let perfectly_correlated = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert!(matches!(
            Correlation::new(perfectly_correlated),
            Err(SignatureError::NotPositiveDefinite { row: 1, .. })
        ));
        assert!(matches!(
            Correlation::new(vec![vec![1.0, 0.2], vec![0.3, 1.0]]),
            Err(SignatureError::NotSymmetric { .. })
        ));
        assert!(matches!(
            Correlation::new(vec![vec![2.0, 0.0], vec![0.0, 1.0]]),
            Err(SignatureError::DiagonalNotOne { i: 0, .. })
        ));
        assert!(matches!(
            Correlation::new(vec![vec![1.0, 0.0], vec![0.0]]),
            Err(SignatureError::NotSquare { row: 1, .. })
        ));
        assert!(matches!(
            Correlation::new(vec![vec![1.0, f64::NAN], vec![f64::NAN, 1.0]]),
            Err(SignatureError::NotFinite { .. })
        ));
        assert!(Correlation::new(vec![vec![1.0, 0.5], vec![0.5, 1.0]]).is_ok());
        assert!(Correlation::new(vec![]).is_ok());
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let mk = markers(2, 0.3);
        let corr = Correlation::identity(2);
        assert!(matches!(
            generate_cohort(&mk, &ConditionSpec::healthy(3), &corr, 5, 1, 1),
            Err(SignatureError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            generate_cohort(&mk, &disease(2, 0.0), &corr, 5, 1, 1),
            Err(SignatureError::InvalidValue { .. })
        ));
        let rows = vec![vec![1.0, 2.0]; 4];
        assert!(matches!(
            cross_validated_auc(&rows, &rows, 5, 1.0, 1),
            Err(SignatureError::TooFewIndividuals(_))
        ));
        assert!(matches!(
            cross_validated_auc(&rows, &rows, 1, 1.0, 1),
            Err(SignatureError::TooFewIndividuals(_))
        ));
        let bad = vec![vec![1.0, -2.0]; 4];
        assert!(matches!(
            cross_validated_auc(&bad, &rows, 2, 1.0, 1),
            Err(SignatureError::InvalidValue { .. })
        ));
        assert!(matches!(
            Signature::fit(&rows, &rows, f64::NAN),
            Err(SignatureError::InvalidValue { .. })
        ));
        let model = Signature::fit(&rows, &[vec![2.0, 1.0]], 1.0).unwrap();
        assert_eq!(model.score(&[1.0]), None);
        assert_eq!(model.score(&[1.0, 0.0]), None);
        assert!(model.score(&[1.0, 1.0]).is_some());
    }

    #[test]
    fn same_seed_same_results() {
        let k = 4;
        let mk = markers(k, 0.4);
        let corr = Correlation::new(vec![
            vec![1.0, 0.5, 0.0, 0.0],
            vec![0.5, 1.0, 0.2, 0.0],
            vec![0.0, 0.2, 1.0, -0.3],
            vec![0.0, 0.0, -0.3, 1.0],
        ])
        .unwrap();
        let gen_cases = |seed| generate_cohort(&mk, &disease(k, 1.4), &corr, 80, seed, 1).unwrap();
        let controls = generate_cohort(&mk, &ConditionSpec::healthy(k), &corr, 80, 3, 2).unwrap();
        let a = gen_cases(3);
        let b = gen_cases(3);
        assert_eq!(a, b);
        assert_ne!(a, gen_cases(4));
        // Individual i depends only on (seed, domain, i): a smaller cohort is
        // a prefix of a larger one.
        let small = generate_cohort(&mk, &disease(k, 1.4), &corr, 10, 3, 1).unwrap();
        assert_eq!(small[..], a[..10]);
        let r1 = cross_validated_auc(&a, &controls, 4, 0.5, 21).unwrap();
        let r2 = cross_validated_auc(&b, &controls, 4, 0.5, 21).unwrap();
        assert_eq!(r1, r2);
        let r3 = cross_validated_auc(&a, &controls, 4, 0.5, 22).unwrap();
        assert_ne!(r1.per_fold, r3.per_fold);
    }

    #[test]
    fn folds_are_stratified_and_balanced() {
        let f = assign_folds(23, 5, 7, 0);
        let mut counts = [0usize; 5];
        for &g in &f {
            counts[g] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), 23);
        assert!(counts.iter().all(|&c| c == 4 || c == 5), "{counts:?}");
        assert_ne!(f, assign_folds(23, 5, 8, 0));
    }

    #[test]
    fn generated_log_markers_have_the_requested_moments_and_correlation() {
        let target = vec![
            vec![1.0, 0.6, -0.3],
            vec![0.6, 1.0, 0.2],
            vec![-0.3, 0.2, 1.0],
        ];
        let corr = Correlation::new(target.clone()).unwrap();
        let mk = vec![
            MarkerSpec {
                name: "CD63".into(),
                healthy_median: 1e9,
                cv: 0.5,
            },
            MarkerSpec {
                name: "L1CAM".into(),
                healthy_median: 3.0,
                cv: 1.0,
            },
            MarkerSpec {
                name: "tau".into(),
                healthy_median: 0.2,
                cv: 0.3,
            },
        ];
        let cond = ConditionSpec {
            name: "AD".into(),
            fold_change: vec![2.0, 1.0, 0.5],
            cv_scale: 1.5,
        };
        let n = 20_000;
        let rows = generate_cohort(&mk, &cond, &corr, n, 99, 4).unwrap();
        let logs: Vec<Vec<f64>> = (0..3)
            .map(|j| rows.iter().map(|r| r[j].ln()).collect())
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        for j in 0..3 {
            let sigma = log_sd(mk[j].cv * cond.cv_scale);
            let mu = (mk[j].healthy_median * cond.fold_change[j]).ln();
            // Standard errors: σ/√n for the mean, σ/√(2n) for the sd.
            assert!((mean(&logs[j]) - mu).abs() < 4.0 * sigma / (n as f64).sqrt());
            assert!((sd(&logs[j]) - sigma).abs() < 4.0 * sigma / (2.0 * n as f64).sqrt());
        }
        for i in 0..3 {
            for j in 0..i {
                let (mi, mj) = (mean(&logs[i]), mean(&logs[j]));
                let cov = logs[i]
                    .iter()
                    .zip(&logs[j])
                    .map(|(a, b)| (a - mi) * (b - mj))
                    .sum::<f64>()
                    / (n - 1) as f64;
                let r = cov / (sd(&logs[i]) * sd(&logs[j]));
                let rho = target[i][j];
                // Standard error of a sample correlation: (1 − ρ²)/√n.
                let se = (1.0 - rho * rho) / (n as f64).sqrt();
                assert!((r - rho).abs() < 4.0 * se, "r({i},{j}) = {r} vs {rho}");
            }
        }
    }
}
