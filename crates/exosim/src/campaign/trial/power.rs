//! Power by formula, the references a simulated power is checked against
//! (docs/trials.md): the noncentral t for a two-arm trial with a normal
//! endpoint and Student's test, and Schoenfeld's formula for the log-rank
//! test. A planner also reads them as a first guess before simulating.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, StudentsT};

use crate::campaign::distribution::{normal_cdf, normal_quantile};

/// Intervals of the χ² integral in [`noncentral_t`] (Simpson's rule).
const CHI2_INTERVALS: usize = 4000;

/// Power of Student's two-sided t-test at level `alpha` with `n` subjects
/// per arm and a standardised difference `delta` (difference over the
/// common sd): P(|T′| > t₁₋α/₂) for T′ noncentral t with 2n − 2 degrees of
/// freedom and noncentrality δ√(n/2). T′ = (Z + λ)/√(W/ν) with W ~ χ²ν, so
/// the power is E_W[Φ(λ − c√(W/ν)) + Φ(−λ − c√(W/ν))], integrated over W
/// by Simpson's rule (accurate to about 1e-9 for ν ≥ 2).
pub fn noncentral_t(n: u64, delta: f64, alpha: f64) -> f64 {
    let df = 2.0 * n as f64 - 2.0;
    let lambda = delta * (n as f64 / 2.0).sqrt();
    let c = StudentsT::new(0.0, 1.0, df)
        .expect("df > 0")
        .inverse_cdf(1.0 - alpha / 2.0);
    let chi2 = ChiSquared::new(df).expect("df > 0");
    let top = df + 60.0 * (2.0 * df).sqrt() + 60.0;
    let h = top / CHI2_INTERVALS as f64;
    let f = |w: f64| {
        if w <= 0.0 {
            return 0.0;
        }
        let s = c * (w / df).sqrt();
        (normal_cdf(lambda - s) + normal_cdf(-lambda - s)) * chi2.pdf(w)
    };
    let mut sum = f(0.0) + f(top);
    for i in 1..CHI2_INTERVALS {
        sum += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0
}

/// Schoenfeld's (1981) power of the two-sided log-rank test at level
/// `alpha` for a hazard ratio `hazard_ratio`, `events` expected events in
/// all, and a share `allocation` of subjects in one arm:
/// Φ(|ln HR|·√(d·p(1 − p)) − z₁₋α/₂).
pub fn schoenfeld(hazard_ratio: f64, events: f64, allocation: f64, alpha: f64) -> f64 {
    let z = normal_quantile(1.0 - alpha / 2.0);
    normal_cdf(hazard_ratio.ln().abs() * (events * allocation * (1.0 - allocation)).sqrt() - z)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a difference the power is the level; it rises with the
    /// sample size; and with 64 per arm a difference of half an sd has the
    /// textbook power of 0.80 (Cohen 1988, Table 2.4.1: 0.80 at n = 64).
    #[test]
    fn noncentral_t_power_reference_points() {
        assert!((noncentral_t(10, 0.0, 0.05) - 0.05).abs() < 1e-7);
        assert!(noncentral_t(20, 0.5, 0.05) < noncentral_t(40, 0.5, 0.05));
        let p = noncentral_t(64, 0.5, 0.05);
        assert!((p - 0.80).abs() < 0.005, "{p}");
    }

    /// Schoenfeld: the events for 80 % power at α = 0.05 and HR 0.5 with
    /// equal arms are 4(1.96 + 0.8416)²/ln²2 = 65.3.
    #[test]
    fn schoenfeld_inverts_the_events_formula() {
        let z = 1.959_963_984_540_054 + 0.841_621_233_572_914_3;
        let d = 4.0 * z * z / 0.5f64.ln().powi(2);
        assert!((schoenfeld(0.5, d, 0.5, 0.05) - 0.8).abs() < 1e-9);
    }
}
