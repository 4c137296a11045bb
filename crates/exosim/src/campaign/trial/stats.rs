//! The tests a trial's analysis runs: Welch's and Student's t, Mann–Whitney
//! U, Fisher's exact test of response rates, and the log-rank test with its
//! hazard ratio; the Kaplan–Meier estimate for the curves. Each returns a
//! two-sided p-value; the analysis compares it with the trial's α. The same
//! formulas as SciPy's `ttest_ind`, `mannwhitneyu`, `fisher_exact` and
//! `logrank`, which the integration tests run on the same samples
//! (docs/trials.md).

use std::collections::HashMap;

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::factorial::ln_binomial;

use crate::campaign::distribution::normal_cdf;

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The test statistic (t, z of U, z of the log-rank, or the sample
    /// odds ratio of responding, treated : control, for Fisher's test).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// The estimate of the difference: treated − control means (t-tests),
    /// the shift of U (U/(n₁n₂), the probability that a treated value is
    /// above a control one), the difference of response rates, treated −
    /// control (Fisher), or the hazard ratio treated : control.
    pub estimate: f64,
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v)
}

/// Two-sided p of Student's t with `df` degrees of freedom; NaN when the
/// statistic is.
fn t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() || df.is_nan() || df <= 0.0 {
        return if t.is_infinite() { 0.0 } else { f64::NAN };
    }
    let law = StudentsT::new(0.0, 1.0, df).expect("df > 0");
    2.0 * law.cdf(-t.abs())
}

/// Welch's t-test of `treated` against `control` (unequal variances,
/// Welch–Satterthwaite degrees of freedom). Needs two values in each.
pub fn welch(control: &[f64], treated: &[f64]) -> Option<TestResult> {
    if control.len() < 2 || treated.len() < 2 {
        return None;
    }
    let (m0, v0) = mean_var(control);
    let (m1, v1) = mean_var(treated);
    let (a, b) = (v0 / control.len() as f64, v1 / treated.len() as f64);
    let t = (m1 - m0) / (a + b).sqrt();
    let df = (a + b).powi(2)
        / (a * a / (control.len() as f64 - 1.0) + b * b / (treated.len() as f64 - 1.0));
    Some(TestResult {
        statistic: t,
        p: t_two_sided(t, df),
        estimate: m1 - m0,
    })
}

/// Student's t-test with the pooled variance (n₀ + n₁ − 2 degrees of
/// freedom): the test whose power is the noncentral t's.
pub fn student(control: &[f64], treated: &[f64]) -> Option<TestResult> {
    if control.len() < 2 || treated.len() < 2 {
        return None;
    }
    let (n0, n1) = (control.len() as f64, treated.len() as f64);
    let (m0, v0) = mean_var(control);
    let (m1, v1) = mean_var(treated);
    let df = n0 + n1 - 2.0;
    let pooled = ((n0 - 1.0) * v0 + (n1 - 1.0) * v1) / df;
    let t = (m1 - m0) / (pooled * (1.0 / n0 + 1.0 / n1)).sqrt();
    Some(TestResult {
        statistic: t,
        p: t_two_sided(t, df),
        estimate: m1 - m0,
    })
}

/// The one-sample t-test of `values` against `reference` (n − 1 degrees
/// of freedom): a single-arm trial against a historical value. The
/// estimate is the mean minus the reference.
pub fn one_sample(values: &[f64], reference: f64) -> Option<TestResult> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let (m, v) = mean_var(values);
    let t = (m - reference) / (v / n).sqrt();
    Some(TestResult {
        statistic: t,
        p: t_two_sided(t, n - 1.0),
        estimate: m - reference,
    })
}

/// Responders and subjects of one arm, for a test of response rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Responses {
    /// Subjects who responded.
    pub responders: u64,
    /// Subjects.
    pub subjects: u64,
}

/// Fisher's exact test of the 2×2 table responders/non-responders ×
/// control/treated. Given the margins the treated responders are
/// hypergeometric; the two-sided p-value sums the probabilities of every
/// table no more likely than the one observed (with R's relative
/// tolerance 1e-7 for ties of probability), as SciPy's
/// `fisher_exact(alternative="two-sided")`. Needs a subject in each arm.
pub fn fisher_exact(control: Responses, treated: Responses) -> Option<TestResult> {
    if control.subjects == 0 || treated.subjects == 0 {
        return None;
    }
    let responders = control.responders + treated.responders;
    let all = control.subjects + treated.subjects;
    // ln P(k treated responders) given the margins.
    let ln_p = |k: u64| {
        ln_binomial(responders, k) + ln_binomial(all - responders, treated.subjects - k)
            - ln_binomial(all, treated.subjects)
    };
    let low = treated.subjects.saturating_sub(all - responders);
    let high = responders.min(treated.subjects);
    let observed = ln_p(treated.responders);
    let p: f64 = (low..=high)
        .map(ln_p)
        .filter(|&l| l <= observed + 1e-7_f64.ln_1p())
        .map(f64::exp)
        .sum();
    let (a, b) = (treated.responders, treated.subjects - treated.responders);
    let (c, d) = (control.responders, control.subjects - control.responders);
    let rate = |r: Responses| r.responders as f64 / r.subjects as f64;
    Some(TestResult {
        statistic: (a * d) as f64 / (b * c) as f64,
        p: p.min(1.0),
        estimate: rate(treated) - rate(control),
    })
}

/// Largest n₀·n₁ for which [`mann_whitney`] counts the exact null
/// distribution of U (without ties); above it, the normal approximation.
pub const MANN_WHITNEY_EXACT_MAX: usize = 2500;

/// Mann–Whitney U test of `treated` against `control`. Without ties and
/// for n₀·n₁ ≤ [`MANN_WHITNEY_EXACT_MAX`] the p-value is exact (the null
/// distribution of U counted, as SciPy's `method="exact"`); otherwise the
/// normal approximation with the tie correction and a continuity
/// correction (SciPy's `method="asymptotic"`). `exact` caches the counts
/// by sample sizes.
pub fn mann_whitney(control: &[f64], treated: &[f64], exact: &mut ExactU) -> Option<TestResult> {
    let (n0, n1) = (control.len(), treated.len());
    if n0 == 0 || n1 == 0 {
        return None;
    }
    let (ranks, ties) = ranks(control, treated);
    let r1: f64 = ranks[n0..].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let nn = (n0 * n1) as f64;
    let mean = nn / 2.0;
    let p = if ties == 0.0 && n0 * n1 <= MANN_WHITNEY_EXACT_MAX {
        exact.two_sided(n1, n0, u1)
    } else {
        let n = (n0 + n1) as f64;
        let var = nn / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
        let z = ((u1 - mean).abs() - 0.5).max(0.0) / var.sqrt();
        (2.0 * normal_cdf(-z)).min(1.0)
    };
    let sd = (nn * ((n0 + n1) as f64 + 1.0) / 12.0).sqrt();
    Some(TestResult {
        statistic: (u1 - mean) / sd,
        p,
        estimate: u1 / nn,
    })
}

/// Mid-ranks of control then treated, and Σ(t³ − t) over groups of ties.
fn ranks(control: &[f64], treated: &[f64]) -> (Vec<f64>, f64) {
    let all: Vec<f64> = control.iter().chain(treated).copied().collect();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut ranks = vec![0.0; all.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && all[order[j]] == all[order[i]] {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = mid;
        }
        let t = (j - i) as f64;
        ties += t * t * t - t;
        i = j;
    }
    (ranks, ties)
}

/// The exact null distribution of U, counted once per pair of sizes.
#[derive(Debug, Default)]
pub struct ExactU {
    cdf: HashMap<(usize, usize), Vec<f64>>,
}

impl ExactU {
    /// P(U ≤ u) table of samples of sizes (m, n): the number of
    /// arrangements with a given U by the recurrence
    /// c(m, n, u) = c(m − 1, n, u − n) + c(m, n − 1, u) (Mann & Whitney 1947),
    /// as frequencies.
    fn table(m: usize, n: usize) -> Vec<f64> {
        // counts[j][u] for the current m and every n' ≤ n.
        let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
        for mm in 1..=m {
            let mut cur: Vec<Vec<f64>> = vec![vec![1.0]];
            for nn in 1..=n {
                let size = mm * nn + 1;
                let mut c = vec![0.0; size];
                for (u, slot) in c.iter_mut().enumerate() {
                    let a = if u >= nn {
                        prev[nn].get(u - nn).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                    let b = cur[nn - 1].get(u).copied().unwrap_or(0.0);
                    *slot = a + b;
                }
                cur.push(c);
            }
            prev = cur;
        }
        let counts = &prev[n];
        let total: f64 = counts.iter().sum();
        let mut acc = 0.0;
        counts
            .iter()
            .map(|c| {
                acc += c;
                acc / total
            })
            .collect()
    }

    /// Two-sided exact p of U = `u` for sizes (m, n): twice the smaller tail.
    fn two_sided(&mut self, m: usize, n: usize, u: f64) -> f64 {
        let cdf = self
            .cdf
            .entry((m, n))
            .or_insert_with(|| ExactU::table(m, n));
        let max = (m * n) as f64;
        let u = u.max(max - u).round() as usize;
        // P(U ≥ u) = 1 − P(U ≤ u − 1), by symmetry the lower tail's twin.
        let upper = 1.0 - if u == 0 { 0.0 } else { cdf[u - 1] };
        (2.0 * upper).min(1.0)
    }
}

/// One subject's time to event: when, and whether the event (progression)
/// happened then or the subject was censored (follow-up ended, dropout).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Survival {
    /// Time of the event or of censoring.
    pub time: f64,
    /// The event happened at `time`.
    pub event: bool,
}

/// The log-rank test of `treated` against `control` (Mantel's variance,
/// with ties), and Peto's hazard ratio exp((O − E)/V) of treated to
/// control. None when no event happened.
pub fn log_rank(control: &[Survival], treated: &[Survival]) -> Option<TestResult> {
    let mut all: Vec<(f64, bool, bool)> = control
        .iter()
        .map(|s| (s.time, s.event, false))
        .chain(treated.iter().map(|s| (s.time, s.event, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut at_risk, mut at_risk_treated) = (all.len() as f64, treated.len() as f64);
    let (mut observed, mut expected, mut variance) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let t = all[i].0;
        let (mut d, mut d1, mut left, mut left1) = (0.0, 0.0, 0.0, 0.0);
        while i < all.len() && all[i].0 == t {
            let (_, event, in_treated) = all[i];
            left += 1.0;
            left1 += f64::from(u8::from(in_treated));
            if event {
                d += 1.0;
                d1 += f64::from(u8::from(in_treated));
            }
            i += 1;
        }
        if d > 0.0 {
            let share = at_risk_treated / at_risk;
            observed += d1;
            expected += d * share;
            if at_risk > 1.0 {
                variance += d * share * (1.0 - share) * (at_risk - d) / (at_risk - 1.0);
            }
        }
        at_risk -= left;
        at_risk_treated -= left1;
    }
    if variance.is_nan() || variance <= 0.0 {
        return None;
    }
    let z = (observed - expected) / variance.sqrt();
    Some(TestResult {
        statistic: z,
        p: (2.0 * normal_cdf(-z.abs())).min(1.0),
        estimate: ((observed - expected) / variance).exp(),
    })
}

/// One step of a Kaplan–Meier curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KmStep {
    /// Time of the events.
    pub time: f64,
    /// Subjects at risk just before.
    pub at_risk: u64,
    /// Events at that time.
    pub events: u64,
    /// Share free of the event just after.
    pub survival: f64,
}

/// The Kaplan–Meier product-limit estimate (Kaplan & Meier 1958): one step
/// per distinct event time.
pub fn kaplan_meier(subjects: &[Survival]) -> Vec<KmStep> {
    let mut s: Vec<Survival> = subjects.to_vec();
    s.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut at_risk = s.len() as u64;
    let mut survival = 1.0;
    let mut steps = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let t = s[i].time;
        let (mut events, mut left) = (0u64, 0u64);
        while i < s.len() && s[i].time == t {
            events += u64::from(s[i].event);
            left += 1;
            i += 1;
        }
        if events > 0 {
            survival *= 1.0 - events as f64 / at_risk as f64;
            steps.push(KmStep {
                time: t,
                at_risk,
                events,
                survival,
            });
        }
        at_risk -= left;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Welch's t of two small samples, by hand: means 2 and 5, variances
    /// 1 and 8.5/3 (n = 3 and 4): t = 3/√(1/3 + 8.5/12).
    #[test]
    fn welch_statistic_by_hand() {
        let r = welch(&[1.0, 2.0, 3.0], &[3.0, 4.5, 5.5, 7.0]).unwrap();
        let (a, b): (f64, f64) = (1.0 / 3.0, 8.5 / 12.0);
        assert!((r.statistic - 3.0 / (a + b).sqrt()).abs() < 1e-12);
        assert_eq!(r.estimate, 3.0);
        assert!(r.p > 0.0 && r.p < 0.1);
    }

    /// Student's t with equal sizes and variances equals Welch's t, and its
    /// p uses 2n − 2 degrees of freedom.
    #[test]
    fn student_equals_welch_statistic_for_equal_sizes() {
        let (c, t) = ([1.0, 2.0, 4.0, 5.0], [2.0, 3.0, 6.0, 7.0]);
        let (s, w) = (student(&c, &t).unwrap(), welch(&c, &t).unwrap());
        assert!((s.statistic - w.statistic).abs() < 1e-12);
    }

    /// The exact null of U for sizes (2, 2): U ∈ {0,1,2,2,3,4}, so
    /// P(U ≤ 0) = 1/6, P(U ≤ 2) = 4/6 (Mann & Whitney 1947's table).
    #[test]
    fn exact_u_counts_arrangements() {
        let cdf = ExactU::table(2, 2);
        let want = [1.0 / 6.0, 2.0 / 6.0, 4.0 / 6.0, 5.0 / 6.0, 1.0];
        for (a, b) in cdf.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        // Completely separated samples of 3 and 3: p = 2/20.
        let r = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &mut ExactU::default()).unwrap();
        assert!((r.p - 0.1).abs() < 1e-15);
        assert_eq!(r.estimate, 1.0);
    }

    /// Kaplan–Meier by hand: events at 1 and 3, censoring at 2:
    /// S(1) = 3/4, S(3) = 3/4 · 1/2.
    #[test]
    fn kaplan_meier_by_hand() {
        let s = |time, event| Survival { time, event };
        let km = kaplan_meier(&[s(1.0, true), s(2.0, false), s(3.0, true), s(4.0, false)]);
        assert_eq!(km.len(), 2);
        assert_eq!(km[0].survival, 0.75);
        assert_eq!(km[1].at_risk, 2);
        assert_eq!(km[1].survival, 0.375);
    }

    /// The log-rank of identical groups is 0 with p = 1 and a hazard ratio
    /// of 1.
    #[test]
    fn log_rank_of_identical_groups_is_null() {
        let s = |time, event| Survival { time, event };
        let g = [s(1.0, true), s(2.0, true), s(3.0, false)];
        let r = log_rank(&g, &g).unwrap();
        assert!(r.statistic.abs() < 1e-12);
        assert!((r.p - 1.0).abs() < 1e-12);
        assert!((r.estimate - 1.0).abs() < 1e-12);
    }
}
