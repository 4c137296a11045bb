//! The biopsy statistics used together, through the public API: a virtual
//! cohort, a threshold fixed on controls, and the sensitivity it achieves,
//! checked against the log-normal closed forms.

use exosim::biopsy::roc;
use exosim::biopsy::signature::{ConditionSpec, Correlation, MarkerSpec, generate_cohort, log_sd};
use statrs::distribution::{ContinuousCDF, Normal};

fn single_marker(cv: f64) -> Vec<MarkerSpec> {
    vec![MarkerSpec {
        name: "Abeta42".into(),
        healthy_median: 50.0,
        cv,
    }]
}

fn condition(fc: f64) -> ConditionSpec {
    ConditionSpec {
        name: "MCI".into(),
        fold_change: vec![fc],
        cv_scale: 1.0,
    }
}

fn column(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.iter().map(|r| r[0]).collect()
}

/// A marker tuned to the reported AUC of EV Aβ42 in MCI (0.86,
/// docs/references.md#disease-signatures): the fold change follows from
/// AUC = Φ(ln fc / (σ√2)), and a simulated cohort reproduces that AUC
/// inside its DeLong interval.
#[test]
fn fold_change_tuned_to_a_reported_auc_reproduces_it() {
    let cv = 0.6;
    let sigma = log_sd(cv);
    let target = 0.86;
    let fc = (Normal::standard().inverse_cdf(target) * sigma * 2f64.sqrt()).exp();
    assert!((roc::binormal_auc(fc.ln(), sigma, 0.0, sigma) - target).abs() < 1e-9);
    let corr = Correlation::identity(1);
    let cases = generate_cohort(&single_marker(cv), &condition(fc), &corr, 1500, 2024, 1).unwrap();
    let controls = generate_cohort(
        &single_marker(cv),
        &ConditionSpec::healthy(1),
        &corr,
        1500,
        2024,
        2,
    )
    .unwrap();
    let est = roc::auc_with_ci(&column(&cases), &column(&controls), 0.95).unwrap();
    println!(
        "fc {fc:.3}: AUC {:.4} [{:.4}, {:.4}] vs target {target}",
        est.auc, est.lower, est.upper
    );
    assert!(
        est.lower <= target && target <= est.upper,
        "{target} not in [{}, {}] (AUC {})",
        est.lower,
        est.upper,
        est.auc
    );
}

/// A threshold fixed at 95 % specificity on simulated controls gives, on
/// simulated cases, the sensitivity of the closed form
/// 1 − Φ(z₀.₉₅ − ln fc / σ) within its Monte Carlo error; and the PPV at a
/// screening prevalence follows from it by Bayes' rule.
#[test]
fn sensitivity_at_fixed_specificity_matches_the_closed_form() {
    let (cv, fc, n) = (0.5, 2.0, 5000);
    let sigma = log_sd(cv);
    let corr = Correlation::identity(1);
    let cases =
        column(&generate_cohort(&single_marker(cv), &condition(fc), &corr, n, 7, 1).unwrap());
    let controls = column(
        &generate_cohort(
            &single_marker(cv),
            &ConditionSpec::healthy(1),
            &corr,
            n,
            7,
            2,
        )
        .unwrap(),
    );
    let t = roc::threshold_for_specificity(&controls, 0.95);
    let spec = controls.iter().filter(|&&v| v < t).count() as f64 / n as f64;
    assert!(spec >= 0.95);
    let sens = roc::sensitivity_at(&cases, t).unwrap();
    let std = Normal::standard();
    let truth = 1.0 - std.cdf(std.inverse_cdf(0.95) - fc.ln() / sigma);
    let positives = (sens * n as f64).round() as u64;
    let (lo, hi) = roc::wilson_interval(positives, n as u64, 0.95);
    assert!(lo < sens && sens < hi);
    // Two sources of error: the binomial count on cases, and the threshold
    // itself, the 95th percentile of n controls, whose standard error on the
    // log-marker's z scale is √(q(1 − q)/n)/φ(z_q) (the quantile's
    // asymptotic variance), moving the sensitivity by φ(z_q − d) per unit.
    let (q, d) = (0.95, fc.ln() / sigma);
    let z_q = std.inverse_cdf(q);
    let pdf = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let sd_threshold = (q * (1.0 - q) / n as f64).sqrt() / pdf(z_q);
    let sd_binomial = (truth * (1.0 - truth) / n as f64).sqrt();
    let sd = sd_binomial.hypot(pdf(z_q - d) * sd_threshold);
    println!(
        "specificity {spec:.4}, sensitivity {sens:.4} (Wilson [{lo:.4}, {hi:.4}]), \
         closed form {truth:.4}, SD {sd:.4}"
    );
    assert!(
        (sens - truth).abs() < 4.0 * sd,
        "sensitivity {sens} vs closed form {truth} (4 SD = {})",
        4.0 * sd
    );
    let ppv = roc::ppv(sens, spec, 0.01);
    let bayes = sens * 0.01 / (sens * 0.01 + (1.0 - spec) * 0.99);
    assert!((ppv - bayes).abs() < 1e-12);
    assert!(
        ppv < 0.2,
        "at 1 % prevalence most positives are false: {ppv}"
    );
}
