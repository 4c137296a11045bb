//! The statistics of a diagnostic test: how well a marker separates cases
//! from controls, where to put the threshold, and what a positive result
//! means at a given prevalence.
//!
//! Conventions shared by every function here:
//! - a higher value points to disease; a test result is positive when
//!   `value >= threshold`;
//! - NaN values are missing measurements and are dropped before anything is
//!   computed (a failed assay carries no information about rank), so no
//!   result is NaN because an input held one;
//! - where a quantity has no answer (an AUC without cases or without
//!   controls), the function returns `None` rather than NaN.

use statrs::distribution::{ContinuousCDF, Normal};

/// The values that are measurements (NaN dropped), sorted ascending.
fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Number of values of the ascending `sorted` strictly below `x`, and the
/// number equal to it (binary search, so O(log n)).
fn below_and_equal(sorted: &[f64], x: f64) -> (usize, usize) {
    let below = sorted.partition_point(|&v| v < x);
    let not_above = sorted.partition_point(|&v| v <= x);
    (below, not_above - below)
}

/// The two-sided standard normal quantile for a confidence level, e.g. 1.96
/// for 0.95. Levels outside (0, 1) give 0 (level 0) or +inf (level 1 and
/// above, or NaN: no finite interval is claimed).
fn z_for_level(level: f64) -> f64 {
    if level.is_nan() || level >= 1.0 {
        f64::INFINITY
    } else if level <= 0.0 {
        0.0
    } else {
        Normal::standard().inverse_cdf(0.5 + level / 2.0)
    }
}

/// The structural components of the Mann–Whitney statistic: for each case
/// the fraction of controls it beats (ties ½), for each control the fraction
/// of cases that beat it. Both AUC and DeLong's variance are built from
/// them; counting by binary search on sorted copies keeps this
/// O((n+m) log(n+m)) instead of the O(n·m) pair count.
fn structural_components(cases: &[f64], controls: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let x = sorted_finite(cases);
    let y = sorted_finite(controls);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (n, m) = (x.len() as f64, y.len() as f64);
    let v10 = x
        .iter()
        .map(|&xi| {
            let (below, equal) = below_and_equal(&y, xi);
            (below as f64 + 0.5 * equal as f64) / m
        })
        .collect();
    let v01 = y
        .iter()
        .map(|&yj| {
            let (below, equal) = below_and_equal(&x, yj);
            let above = x.len() - below - equal;
            (above as f64 + 0.5 * equal as f64) / n
        })
        .collect();
    Some((v10, v01))
}

/// The area under the ROC curve: the probability that a random case scores
/// above a random control, ties counting ½ (the Mann–Whitney U divided by
/// n·m). This is the threshold-free summary used to compare markers.
///
/// `None` when there are no cases or no controls (after dropping NaN).
pub fn auc(cases: &[f64], controls: &[f64]) -> Option<f64> {
    let x = sorted_finite(cases);
    let y = sorted_finite(controls);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    // Exact integer count of twice the U statistic, so the result does not
    // depend on summation order.
    let twice_u: u128 = x
        .iter()
        .map(|&xi| {
            let (below, equal) = below_and_equal(&y, xi);
            2 * below as u128 + equal as u128
        })
        .sum();
    Some(twice_u as f64 / (2.0 * x.len() as f64 * y.len() as f64))
}

/// An AUC with its confidence interval, so that a reported AUC carries its
/// sampling uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AucEstimate {
    /// The empirical (Mann–Whitney) AUC.
    pub auc: f64,
    /// Lower bound of the interval, clamped to 0.
    pub lower: f64,
    /// Upper bound of the interval, clamped to 1.
    pub upper: f64,
    /// The confidence level the interval was built for (e.g. 0.95).
    pub level: f64,
}

/// The AUC with a confidence interval from DeLong's nonparametric variance.
///
/// Method: DeLong, DeLong & Clarke-Pearson (1988), "Comparing the areas
/// under two or more correlated receiver operating characteristic curves:
/// a nonparametric approach", Biometrics 44:837–845 (docs/references.md#delong-1988). With the structural
/// components V10ᵢ (fraction of controls case i beats) and V01ⱼ (fraction of
/// cases that beat control j), Var(AUC) = s²(V10)/n + s²(V01)/m with sample
/// variances s². The interval is AUC ± z·√Var (normal approximation),
/// clamped to [0, 1].
///
/// Limits: when the sets are perfectly separated the variance estimate is 0
/// and the interval collapses to the point; with fewer than two cases or two
/// controls the variance cannot be estimated and the interval is [0, 1].
/// `None` when there are no cases or no controls (after dropping NaN).
pub fn auc_with_ci(cases: &[f64], controls: &[f64], level: f64) -> Option<AucEstimate> {
    let (v10, v01) = structural_components(cases, controls)?;
    let (n, m) = (v10.len(), v01.len());
    let auc = v10.iter().sum::<f64>() / n as f64;
    let (lower, upper) = if n < 2 || m < 2 {
        (0.0, 1.0)
    } else {
        let var = sample_variance(&v10) / n as f64 + sample_variance(&v01) / m as f64;
        let half = z_for_level(level) * var.max(0.0).sqrt();
        if half.is_nan() {
            // Infinite z times zero variance: no finite interval claimed.
            (0.0, 1.0)
        } else {
            ((auc - half).max(0.0), (auc + half).min(1.0))
        }
    };
    Some(AucEstimate {
        auc,
        lower,
        upper,
        level,
    })
}

/// Unbiased sample variance (n − 1 denominator); callers ensure n ≥ 2.
fn sample_variance(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
}

/// One operating point of a test: what it achieves if positives are called
/// at `value >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RocPoint {
    /// Values at or above it are called positive.
    pub threshold: f64,
    /// Fraction of cases called positive.
    pub sensitivity: f64,
    /// Fraction of controls called negative.
    pub specificity: f64,
}

/// The empirical ROC curve: every operating point the data can distinguish,
/// from threshold +inf (nobody positive) down through each distinct observed
/// value to −inf (everybody positive), so the curve runs from
/// (sensitivity 0, specificity 1) to (1, 0).
///
/// Empty when there are no cases or no controls (after dropping NaN): no
/// sensitivity or specificity is defined then.
pub fn roc_curve(cases: &[f64], controls: &[f64]) -> Vec<RocPoint> {
    let x = sorted_finite(cases);
    let y = sorted_finite(controls);
    if x.is_empty() || y.is_empty() {
        return Vec::new();
    }
    let mut thresholds: Vec<f64> = Vec::with_capacity(x.len() + y.len() + 2);
    thresholds.push(f64::INFINITY);
    thresholds.extend(x.iter().rev().copied());
    thresholds.extend(y.iter().rev().copied());
    thresholds.push(f64::NEG_INFINITY);
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let (n, m) = (x.len() as f64, y.len() as f64);
    thresholds
        .into_iter()
        .map(|t| RocPoint {
            threshold: t,
            sensitivity: (x.len() - x.partition_point(|&v| v < t)) as f64 / n,
            specificity: y.partition_point(|&v| v < t) as f64 / m,
        })
        .collect()
}

/// The threshold that meets a required specificity on the controls (a
/// screening test is usually fixed at, say, 95 % or 99 % specificity).
///
/// Rule: the smallest `f64` threshold `t` whose empirical specificity
/// `#(controls < t) / m` is at least `specificity`. With k the smallest
/// count such that k/m ≥ `specificity` and c₍ₖ₎ the k-th smallest control,
/// this is the next float above c₍ₖ₎: every control at or below c₍ₖ₎ is then
/// negative, and any lower threshold would make c₍ₖ₎ positive. The
/// threshold is thus the lowest (most sensitive) one that keeps the
/// specificity, without interpolating between controls.
///
/// Edge cases: `specificity` ≤ 0 gives −inf (everybody positive); no
/// controls (after dropping NaN) or a NaN target give +inf (nobody
/// positive: no specificity can be vouched for, so nothing is called).
/// A target above 1 is treated as 1.
pub fn threshold_for_specificity(controls: &[f64], specificity: f64) -> f64 {
    let y = sorted_finite(controls);
    if y.is_empty() || specificity.is_nan() {
        return f64::INFINITY;
    }
    if specificity <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let target = specificity.min(1.0);
    let m = y.len();
    // The smallest k with k/m >= target, evaluated in the same floating
    // arithmetic callers use to compute a specificity (count / m).
    let mut k = ((target * m as f64).ceil() as usize).clamp(1, m);
    while k > 1 && (k - 1) as f64 / m as f64 >= target {
        k -= 1;
    }
    while k < m && (k as f64) / (m as f64) < target {
        k += 1;
    }
    y[k - 1].next_up()
}

/// The fraction of cases called positive (`value >= threshold`): the
/// sensitivity a threshold chosen on controls achieves on cases.
///
/// `None` when there are no cases (after dropping NaN).
pub fn sensitivity_at(cases: &[f64], threshold: f64) -> Option<f64> {
    let values: Vec<f64> = cases.iter().copied().filter(|x| !x.is_nan()).collect();
    if values.is_empty() {
        return None;
    }
    let positive = values.iter().filter(|&&v| v >= threshold).count();
    Some(positive as f64 / values.len() as f64)
}

/// The Wilson score interval for a proportion (Wilson 1927, docs/references.md#wilson-1927):
/// unlike the Wald interval it stays inside [0, 1] and keeps its coverage
/// near 0 and 1, which is where sensitivities and specificities live.
///
/// `successes` above `trials` are treated as `trials`. No trials give
/// (0, 1): nothing is known. A `level` of 1 or above (or NaN) gives (0, 1),
/// a level of 0 or below the point estimate.
pub fn wilson_interval(successes: u64, trials: u64, level: f64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let z = z_for_level(level);
    if z.is_infinite() {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // The exact bounds at 0 and n successes, free of rounding.
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if successes >= trials {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lower, upper)
}

/// Positive predictive value by Bayes' rule, P(disease | positive) =
/// se·p / (se·p + (1 − sp)(1 − p)): what a positive result means to the
/// person who receives it, which at screening prevalences is far below the
/// sensitivity.
///
/// Inputs are clamped to [0, 1]. When nobody can test positive
/// (the denominator is 0) no false positive is possible and the result is 1,
/// the limit as the vanishing factor grows. NaN inputs give NaN.
pub fn ppv(sensitivity: f64, specificity: f64, prevalence: f64) -> f64 {
    let (se, sp, p) = (
        sensitivity.clamp(0.0, 1.0),
        specificity.clamp(0.0, 1.0),
        prevalence.clamp(0.0, 1.0),
    );
    let true_pos = se * p;
    let false_pos = (1.0 - sp) * (1.0 - p);
    let all = true_pos + false_pos;
    if all == 0.0 { 1.0 } else { true_pos / all }
}

/// Negative predictive value by Bayes' rule, P(healthy | negative) =
/// sp·(1 − p) / (sp·(1 − p) + (1 − se)·p): the reassurance a negative
/// result gives.
///
/// Inputs are clamped to [0, 1]. When nobody can test negative the result
/// is 1 (no false negative is possible). NaN inputs give NaN.
pub fn npv(sensitivity: f64, specificity: f64, prevalence: f64) -> f64 {
    let (se, sp, p) = (
        sensitivity.clamp(0.0, 1.0),
        specificity.clamp(0.0, 1.0),
        prevalence.clamp(0.0, 1.0),
    );
    let true_neg = sp * (1.0 - p);
    let false_neg = (1.0 - se) * p;
    let all = true_neg + false_neg;
    if all == 0.0 { 1.0 } else { true_neg / all }
}

/// The AUC of a marker that is normal in both groups, Φ((μ₁ − μ₀)/√(σ₁² + σ₀²)):
/// the closed form against which simulated AUCs are checked, and the way a
/// log-normal marker's fold change translates into discrimination.
///
/// Negative standard deviations are taken by magnitude. With both
/// deviations zero the groups are points and the result is 1, ½ or 0 (ties
/// counting ½, as in [`auc`]). NaN inputs give NaN.
pub fn binormal_auc(mu_case: f64, sd_case: f64, mu_control: f64, sd_control: f64) -> f64 {
    let diff = mu_case - mu_control;
    let sd = sd_case.hypot(sd_control);
    if diff.is_nan() || sd.is_nan() {
        return f64::NAN;
    }
    if sd == 0.0 {
        return if diff > 0.0 {
            1.0
        } else if diff < 0.0 {
            0.0
        } else {
            0.5
        };
    }
    if sd.is_infinite() {
        return if diff.is_infinite() { f64::NAN } else { 0.5 };
    }
    Normal::standard().cdf(diff / sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;
    use proptest::prelude::*;
    use rand::RngExt;
    use rand_distr::StandardNormal;

    fn brute_force_auc(cases: &[f64], controls: &[f64]) -> f64 {
        let mut s = 0.0;
        for &x in cases {
            for &y in controls {
                s += if x > y {
                    1.0
                } else if x == y {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (cases.len() * controls.len()) as f64
    }

    /// `n` draws of N(mu, 1) from the stream of (seed, domain, entity).
    fn normals(mu: f64, n: usize, seed: u64, domain: u64, entity: u64) -> Vec<f64> {
        let mut rng = random::stream(seed, domain, entity);
        (0..n)
            .map(|_| mu + rng.sample::<f64, _>(StandardNormal))
            .collect()
    }

    #[test]
    fn separated_sets_have_auc_one_and_reversed_zero() {
        let cases = [5.0, 6.0, 7.0];
        let controls = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(auc(&cases, &controls), Some(1.0));
        assert_eq!(auc(&controls, &cases), Some(0.0));
    }

    #[test]
    fn identical_sets_have_auc_one_half() {
        let v = [1.0, 2.0, 3.0, 3.0, 9.0];
        assert_eq!(auc(&v, &v), Some(0.5));
        // All values tied: every pair counts 1/2.
        assert_eq!(auc(&[2.0; 4], &[2.0; 7]), Some(0.5));
    }

    #[test]
    fn ties_count_one_half() {
        // Pairs: (1 vs 1) tie, (1 vs 0) win, (2 vs 1) win, (2 vs 0) win → 3.5/4.
        assert_eq!(auc(&[1.0, 2.0], &[1.0, 0.0]), Some(0.875));
    }

    #[test]
    fn empty_or_nan_inputs_do_not_panic() {
        assert_eq!(auc(&[], &[1.0]), None);
        assert_eq!(auc(&[1.0], &[]), None);
        assert_eq!(auc(&[f64::NAN], &[1.0]), None);
        assert_eq!(auc(&[2.0, f64::NAN], &[1.0, f64::NAN]), Some(1.0));
        assert!(auc_with_ci(&[], &[], 0.95).is_none());
        assert!(roc_curve(&[], &[1.0]).is_empty());
        assert_eq!(threshold_for_specificity(&[], 0.95), f64::INFINITY);
        assert_eq!(threshold_for_specificity(&[f64::NAN], 0.95), f64::INFINITY);
        assert_eq!(sensitivity_at(&[f64::NAN], 0.0), None);
        let one = auc_with_ci(&[1.0], &[0.0], 0.95).unwrap();
        assert_eq!((one.auc, one.lower, one.upper), (1.0, 0.0, 1.0));
        assert_eq!(wilson_interval(0, 0, 0.95), (0.0, 1.0));
    }

    proptest! {
        #[test]
        fn auc_equals_brute_force_pair_count(
            cases in prop::collection::vec(-20i32..20, 1..40),
            controls in prop::collection::vec(-20i32..20, 1..40),
        ) {
            // Small integers produce many ties on purpose.
            let x: Vec<f64> = cases.iter().map(|&v| v as f64 / 2.0).collect();
            let y: Vec<f64> = controls.iter().map(|&v| v as f64 / 2.0).collect();
            let fast = auc(&x, &y).unwrap();
            let slow = brute_force_auc(&x, &y);
            prop_assert!((fast - slow).abs() < 1e-12, "{fast} vs {slow}");
            let est = auc_with_ci(&x, &y, 0.95).unwrap();
            prop_assert!((est.auc - slow).abs() < 1e-12);
            prop_assert!(est.lower <= est.auc && est.auc <= est.upper);
            prop_assert!(est.lower >= 0.0 && est.upper <= 1.0);
        }

        #[test]
        fn threshold_for_specificity_meets_the_target_and_is_smallest(
            controls in prop::collection::vec(-10i32..10, 1..60),
            target in 0.01f64..1.0,
        ) {
            let y: Vec<f64> = controls.iter().map(|&v| v as f64).collect();
            let t = threshold_for_specificity(&y, target);
            let spec = |t: f64| y.iter().filter(|&&v| v < t).count() as f64 / y.len() as f64;
            prop_assert!(spec(t) >= target, "spec {} < {target}", spec(t));
            // Any lower threshold loses the target.
            prop_assert!(spec(t.next_down()) < target);
        }

        #[test]
        fn roc_curve_is_monotone_and_spans_the_corners(
            cases in prop::collection::vec(-10i32..10, 1..30),
            controls in prop::collection::vec(-10i32..10, 1..30),
        ) {
            let x: Vec<f64> = cases.iter().map(|&v| v as f64).collect();
            let y: Vec<f64> = controls.iter().map(|&v| v as f64).collect();
            let curve = roc_curve(&x, &y);
            let first = curve.first().unwrap();
            let last = curve.last().unwrap();
            prop_assert_eq!((first.threshold, first.sensitivity, first.specificity), (f64::INFINITY, 0.0, 1.0));
            prop_assert_eq!((last.threshold, last.sensitivity, last.specificity), (f64::NEG_INFINITY, 1.0, 0.0));
            for w in curve.windows(2) {
                prop_assert!(w[0].threshold > w[1].threshold);
                prop_assert!(w[0].sensitivity <= w[1].sensitivity);
                prop_assert!(w[0].specificity >= w[1].specificity);
            }
            // Trapezoidal area under the empirical curve is the Mann–Whitney AUC.
            let area: f64 = curve.windows(2).map(|w| {
                let dfpr = (1.0 - w[1].specificity) - (1.0 - w[0].specificity);
                dfpr * (w[0].sensitivity + w[1].sensitivity) / 2.0
            }).sum();
            prop_assert!((area - auc(&x, &y).unwrap()).abs() < 1e-12);
        }
    }

    #[test]
    fn roc_curve_on_a_small_example() {
        let curve = roc_curve(&[2.0, 3.0], &[1.0, 2.0]);
        let pts: Vec<(f64, f64, f64)> = curve
            .iter()
            .map(|p| (p.threshold, p.sensitivity, p.specificity))
            .collect();
        assert_eq!(
            pts,
            vec![
                (f64::INFINITY, 0.0, 1.0),
                (3.0, 0.5, 1.0),
                (2.0, 1.0, 0.5),
                (1.0, 1.0, 0.0),
                (f64::NEG_INFINITY, 1.0, 0.0),
            ]
        );
    }

    #[test]
    fn threshold_for_specificity_examples() {
        let controls: Vec<f64> = (1..=20).map(f64::from).collect();
        // 95 % of 20 controls = 19 must be negative: threshold just above 19.
        let t = threshold_for_specificity(&controls, 0.95);
        assert_eq!(t, 19.0f64.next_up());
        assert_eq!(sensitivity_at(&[19.0, 20.0, 25.0], t), Some(2.0 / 3.0));
        assert_eq!(threshold_for_specificity(&controls, 1.0), 20.0f64.next_up());
        assert_eq!(threshold_for_specificity(&controls, 0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn binormal_monte_carlo_lies_in_the_delong_interval() {
        let truth = binormal_auc(1.0, 1.0, 0.0, 1.0);
        assert!((truth - 0.760).abs() < 5e-4, "{truth}");
        let cases = normals(1.0, 2000, 42, 1, 0);
        let controls = normals(0.0, 2000, 42, 1, 1);
        let est = auc_with_ci(&cases, &controls, 0.95).unwrap();
        assert!(
            est.lower <= truth && truth <= est.upper,
            "{truth} not in [{}, {}]",
            est.lower,
            est.upper
        );
        // The half-width is 1.96 × the Hanley–McNeil standard error of an
        // AUC of 0.76 with 2000 per group (0.0075), i.e. about 0.0148.
        let half = (est.upper - est.lower) / 2.0;
        assert!((0.013..0.017).contains(&half), "half-width {half}");
    }

    #[test]
    fn delong_interval_covers_the_truth_at_its_nominal_rate() {
        let truth = binormal_auc(1.0, 1.0, 0.0, 1.0);
        let reps = 200;
        let covered = (0..reps)
            .filter(|&r| {
                let cases = normals(1.0, 2000, 1000 + r, 2, 0);
                let controls = normals(0.0, 2000, 1000 + r, 2, 1);
                let est = auc_with_ci(&cases, &controls, 0.95).unwrap();
                est.lower <= truth && truth <= est.upper
            })
            .count();
        let rate = covered as f64 / reps as f64;
        println!("DeLong 95 % CI coverage: {covered}/{reps} = {rate:.3}");
        assert!((0.90..=0.99).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn wilson_interval_known_value() {
        let (lo, hi) = wilson_interval(8, 10, 0.95);
        assert!((lo - 0.4902).abs() < 5e-4, "{lo}");
        assert!((hi - 0.9433).abs() < 5e-4, "{hi}");
        let (lo, hi) = wilson_interval(0, 10, 0.95);
        assert!(lo.abs() < 1e-12, "{lo}");
        assert!((hi - 0.2775).abs() < 5e-4, "{hi}");
    }

    #[test]
    fn ppv_and_npv_follow_bayes() {
        // 90 % sensitivity, 95 % specificity, 1 % prevalence, in a population
        // of 100 000: 900 true positives, 4950 false positives.
        let ppv_bayes = 900.0 / (900.0 + 4950.0);
        assert!((ppv(0.9, 0.95, 0.01) - ppv_bayes).abs() < 1e-12);
        // 94 050 true negatives, 100 false negatives.
        let npv_bayes = 94050.0 / (94050.0 + 100.0);
        assert!((npv(0.9, 0.95, 0.01) - npv_bayes).abs() < 1e-12);
        assert_eq!(ppv(0.9, 1.0, 0.0), 1.0);
        assert_eq!(npv(1.0, 0.0, 1.0), 1.0);
        assert!(ppv(f64::NAN, 0.9, 0.1).is_nan());
    }

    #[test]
    fn binormal_auc_edge_cases() {
        assert_eq!(binormal_auc(0.0, 1.0, 0.0, 1.0), 0.5);
        assert_eq!(binormal_auc(1.0, 0.0, 0.0, 0.0), 1.0);
        assert_eq!(binormal_auc(0.0, 0.0, 0.0, 0.0), 0.5);
        assert!((binormal_auc(0.0, 1.0, 1.0, 1.0) - (1.0 - 0.7602)).abs() < 1e-3);
    }
}
