//! Non-compartmental pharmacokinetic (NCA) figures of a blood time course.
//!
//! The body engine produces the number of vesicles per m³ of blood over time
//! after a dose. Pharmacometricians summarise such a curve with a standard set
//! of model-free figures (peak, half-lives, areas, clearance, volumes); this
//! module computes them with the conventions of PKNCA and Phoenix WinNonlin so
//! that simulated vesicle kinetics can be compared with published tracer
//! studies figure by figure.
//!
//! Methods, in brief (details on each item):
//!
//! * **Areas** use the *linear-up / log-down* trapezoidal rule (PKNCA
//!   `"lin up/log down"`, WinNonlin "Linear Up Log Down"): rising or flat
//!   segments, and segments that end at zero, are integrated linearly; falling
//!   segments between positive concentrations log-linearly. The log rule is
//!   exact for exponential decay, which is what the body engine's first-order
//!   elimination produces.
//! * **Terminal phase** (λz): log-linear least squares over the last *k*
//!   positive samples after the peak, the *k* chosen by the adjusted-R² rule
//!   of PKNCA and WinNonlin ("best fit").
//! * **Extrapolation** to infinity uses the *observed* last positive
//!   concentration (AUC∞,obs), as PKNCA `aucinf.obs` and WinNonlin
//!   `AUCINF_obs`.
//!
//! Units are SI throughout: seconds, vesicles, vesicles per m³.

use serde::Serialize;

/// Tolerance of the adjusted-R² rule: fits this close to the best are treated
/// as equally good and the one with the most points wins, as PKNCA's
/// `adj.r.squared.factor` and WinNonlin's "best fit" both do.
const ADJ_R2_TOLERANCE: f64 = 1e-4;

/// Fewest points a terminal regression may use (PKNCA `min.hl.points`).
const MIN_LAMBDA_Z_POINTS: usize = 3;

/// Relative drop below which a falling segment is integrated linearly rather
/// than log-linearly. Below it the two rules differ by less than drop²/12
/// (relative, here < 1e-13), while the log formula for the first moment would
/// lose digits to cancellation.
const LOG_DOWN_MIN_DROP: f64 = 1e-6;

/// Non-compartmental figures of one dose, in SI units.
///
/// All times are measured from the dose time. Figures that cannot be
/// estimated from the data (no terminal phase, zero area, …) are `None`,
/// never NaN or infinite, so the struct serialises to plain JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PkFigures {
    /// Administered amount in vesicles; carried along so that clearance and
    /// volumes can be checked against it.
    pub dose: f64,
    /// Observed peak concentration (vesicles/m³) at or after the dose time;
    /// 0 when there are no usable samples.
    pub c_max: f64,
    /// Time of the first observed peak, after the dose (s); 0 when there are
    /// no usable samples.
    pub t_max_s: f64,
    /// Apparent initial half-life: time from the peak to the first time the
    /// concentration falls to half the peak, interpolated log-linearly
    /// between the bracketing samples (linearly if the later one is zero).
    /// `None` if it never halves. Captures the fast distribution phase that
    /// the terminal half-life misses.
    pub initial_half_life_s: Option<f64>,
    /// Terminal rate constant λz (1/s), minus the slope of the log-linear
    /// terminal regression.
    pub lambda_z_per_s: Option<f64>,
    /// ln 2 / λz (s).
    pub terminal_half_life_s: Option<f64>,
    /// Number of samples in the chosen terminal regression; 0 without one.
    pub lambda_z_points: usize,
    /// Adjusted R² of the chosen terminal regression, to judge its quality.
    pub lambda_z_r2_adjusted: Option<f64>,
    /// Area under the curve (vesicles·s/m³), linear-up / log-down, from the
    /// first sample at or after the dose to the last positive concentration
    /// (PKNCA `auclast`).
    pub auc_last: f64,
    /// AUC to infinity: `auc_last + C_last / λz`, with the observed last
    /// positive concentration.
    pub auc_inf: Option<f64>,
    /// Share of `auc_inf` that is extrapolated; above ~0.2 the sampling was
    /// too short for the infinite-time figures to be trusted.
    pub auc_extrapolated_fraction: Option<f64>,
    /// Area under the first-moment curve t·C to infinity (vesicles·s²/m³):
    /// `AUMC_last + C_last·t_last/λz + C_last/λz²`.
    pub aumc_inf: Option<f64>,
    /// Mean residence time `AUMC_inf / AUC_inf` (s), times from the dose.
    pub mrt_s: Option<f64>,
    /// Total clearance `dose / AUC_inf` (m³/s).
    pub clearance_m3_per_s: Option<f64>,
    /// Volume of distribution at steady state `CL · MRT` (m³).
    pub vss_m3: Option<f64>,
    /// Volume of distribution of the terminal phase `CL / λz` (m³).
    pub vz_m3: Option<f64>,
}

impl PkFigures {
    /// Figures of a curve with no usable samples.
    fn empty(dose: f64) -> Self {
        Self {
            dose,
            c_max: 0.0,
            t_max_s: 0.0,
            initial_half_life_s: None,
            lambda_z_per_s: None,
            terminal_half_life_s: None,
            lambda_z_points: 0,
            lambda_z_r2_adjusted: None,
            auc_last: 0.0,
            auc_inf: None,
            auc_extrapolated_fraction: None,
            aumc_inf: None,
            mrt_s: None,
            clearance_m3_per_s: None,
            vss_m3: None,
            vz_m3: None,
        }
    }
}

/// Computes the non-compartmental figures of the blood curve after one dose.
///
/// `times_s` and `conc` are paired samples (s, vesicles/m³); `dose` is in
/// vesicles, given at `dose_time_s`.
///
/// Conventions:
/// * Only samples at or after `dose_time_s` are used (earlier ones belong to
///   previous doses), and times are shifted so the dose is at 0.
/// * No back-extrapolation to the dose time: the body engine samples the dose
///   time itself, so the first used sample *is* the concentration there. If
///   the first used sample is later, the area before it is not counted.
/// * Samples with a non-finite time or concentration are skipped; negative
///   concentrations (solver round-off) are treated as zero.
/// * Terminal phase: see [`PkFigures::lambda_z_per_s`] and the module docs;
///   the peak itself is never part of the regression (PKNCA default
///   `allow.tmax.in.half.life = FALSE`).
///
/// Precondition: `times_s` is sorted non-decreasingly (checked by
/// `debug_assert!`). In release builds unsorted input gives meaningless
/// figures but never panics. Mismatched lengths or no usable samples give
/// zero peak and area and every optional figure `None`.
pub fn non_compartmental(times_s: &[f64], conc: &[f64], dose_time_s: f64, dose: f64) -> PkFigures {
    let mut fig = PkFigures::empty(dose);
    if times_s.len() != conc.len() {
        return fig;
    }
    debug_assert!(
        is_sorted(times_s),
        "non_compartmental: times must be sorted"
    );

    let (t, c): (Vec<f64>, Vec<f64>) = times_s
        .iter()
        .zip(conc)
        .filter(|&(&ti, &ci)| ti.is_finite() && ci.is_finite() && ti >= dose_time_s)
        .map(|(&ti, &ci)| (ti - dose_time_s, ci.max(0.0)))
        .unzip();
    if t.is_empty() {
        return fig;
    }

    // Peak: first occurrence of the maximum (PKNCA `first.tmax = TRUE`).
    let mut i_max = 0;
    for (i, &ci) in c.iter().enumerate() {
        if ci > c[i_max] {
            i_max = i;
        }
    }
    fig.c_max = c[i_max];
    fig.t_max_s = t[i_max];
    fig.initial_half_life_s = initial_half_life(&t, &c, i_max);

    // Areas to the last positive concentration.
    let Some(i_last) = c.iter().rposition(|&ci| ci > 0.0) else {
        return fig;
    };
    let (auc_last, aumc_last) = moments(&t[..=i_last], &c[..=i_last]);
    fig.auc_last = auc_last;

    let Some(fit) = lambda_z(&t[i_max + 1..], &c[i_max + 1..]) else {
        return fig;
    };
    let lz = fit.rate;
    fig.lambda_z_per_s = Some(lz);
    fig.terminal_half_life_s = finite(std::f64::consts::LN_2 / lz);
    fig.lambda_z_points = fit.points;
    fig.lambda_z_r2_adjusted = Some(fit.r2_adjusted);

    let (t_last, c_last) = (t[i_last], c[i_last]);
    let auc_inf = finite(auc_last + c_last / lz).filter(|&a| a > 0.0);
    let aumc_inf = finite(aumc_last + c_last * t_last / lz + c_last / (lz * lz));
    fig.auc_inf = auc_inf;
    fig.aumc_inf = aumc_inf;
    let Some(auc_inf) = auc_inf else {
        return fig;
    };
    fig.auc_extrapolated_fraction = finite((auc_inf - auc_last) / auc_inf);
    fig.mrt_s = aumc_inf.and_then(|m| finite(m / auc_inf));
    let cl = finite(dose / auc_inf);
    fig.clearance_m3_per_s = cl;
    fig.vss_m3 = cl.zip(fig.mrt_s).and_then(|(cl, mrt)| finite(cl * mrt));
    fig.vz_m3 = cl.and_then(|cl| finite(cl / lz));
    fig
}

/// Area under a sampled curve by the linear-up / log-down trapezoidal rule,
/// for callers that need an exposure figure without the full analysis (e.g.
/// organ exposure). Integrates over all given samples, from the first to the
/// last; returns 0 for mismatched lengths or fewer than two samples.
///
/// Precondition: `times_s` sorted non-decreasingly (checked by
/// `debug_assert!`). Non-finite samples are skipped and negative
/// concentrations treated as zero, as in [`non_compartmental`].
pub fn auc_trapezoid(times_s: &[f64], conc: &[f64]) -> f64 {
    if times_s.len() != conc.len() {
        return 0.0;
    }
    debug_assert!(is_sorted(times_s), "auc_trapezoid: times must be sorted");
    let (t, c): (Vec<f64>, Vec<f64>) = times_s
        .iter()
        .zip(conc)
        .filter(|&(&ti, &ci)| ti.is_finite() && ci.is_finite())
        .map(|(&ti, &ci)| (ti, ci.max(0.0)))
        .unzip();
    moments(&t, &c).0
}

/// Linear interpolation of a sampled series at `t`, so that figures can be
/// read at times that fall between solver output points.
///
/// `None` for mismatched lengths, empty input, non-finite `t` or `t` outside
/// `[times[0], times[last]]` (no extrapolation). Precondition: `times` sorted
/// non-decreasingly (checked by `debug_assert!`); at a repeated time the
/// earlier sample's value is returned.
pub fn value_at(times: &[f64], values: &[f64], t: f64) -> Option<f64> {
    let n = times.len();
    if n != values.len() || n == 0 || !t.is_finite() {
        return None;
    }
    debug_assert!(is_sorted(times), "value_at: times must be sorted");
    if t < times[0] || t > times[n - 1] {
        return None;
    }
    // First index with a time after t; at least 1 because times[0] <= t.
    let j = times.partition_point(|&x| x <= t).max(1);
    if j >= n {
        return Some(values[n - 1]);
    }
    let i = j - 1;
    let (t0, t1) = (times[i], times[j]);
    let dt = t1 - t0;
    if dt.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Some(values[i]);
    }
    finite(values[i] + (values[j] - values[i]) * (t - t0) / dt)
}

/// True when no time is smaller than the one before it (NaN compares as in
/// order, so only real disorder trips the debug checks).
fn is_sorted(times: &[f64]) -> bool {
    times
        .windows(2)
        .all(|w| w[1] >= w[0] || w[0].is_nan() || w[1].is_nan())
}

/// `Some(x)` when `x` is finite, keeping NaN and infinities out of the figures.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// ln(c1/c2) when the segment c1 → c2 is integrated log-linearly, `None` when
/// linearly (rising, flat, ending at zero, or a negligible drop).
fn log_drop(c1: f64, c2: f64) -> Option<f64> {
    if !(c1 > 0.0 && c2 > 0.0 && c2 < c1) {
        return None;
    }
    let rel = (c1 - c2) / c2;
    if rel <= LOG_DOWN_MIN_DROP {
        return None;
    }
    // ln_1p keeps precision for small drops; the plain difference of logs
    // covers ratios too large to represent.
    Some(if rel.is_finite() {
        rel.ln_1p()
    } else {
        c1.ln() - c2.ln()
    })
}

/// AUC and AUMC (first moment, about t = 0) of the samples, linear-up /
/// log-down. On a log-down segment C = C1·e^{-L(t-t1)/Δt}, L = ln(C1/C2):
/// AUC = Δt(C1−C2)/L and AUMC = Δt(C1t1−C2t2)/L + Δt²(C1−C2)/L²
/// (WinNonlin's formulas); on a linear one AUC = Δt(C1+C2)/2 and
/// AUMC = Δt(C1t1+C2t2)/2.
fn moments(t: &[f64], c: &[f64]) -> (f64, f64) {
    let mut auc = 0.0;
    let mut aumc = 0.0;
    for (tw, cw) in t.windows(2).zip(c.windows(2)) {
        let (t1, t2, c1, c2) = (tw[0], tw[1], cw[0], cw[1]);
        let dt = t2 - t1;
        match log_drop(c1, c2) {
            Some(l) => {
                auc += dt * (c1 - c2) / l;
                aumc += dt * (c1 * t1 - c2 * t2) / l + dt * dt * (c1 - c2) / (l * l);
            }
            None => {
                auc += dt * (c1 + c2) / 2.0;
                aumc += dt * (c1 * t1 + c2 * t2) / 2.0;
            }
        }
    }
    (auc, aumc)
}

/// A chosen terminal regression.
struct LambdaZ {
    rate: f64,
    points: usize,
    r2_adjusted: f64,
}

/// Terminal-phase fit over the samples after the peak (`t`, `c` exclude it).
///
/// Regresses ln C on t over the last k positive samples for every k from 3 to
/// all of them, keeps the fits with a negative slope, and picks, among those
/// whose adjusted R² is within [`ADJ_R2_TOLERANCE`] of the best, the one with
/// the most points (PKNCA `pk.calc.half.life`, WinNonlin "best fit").
/// Sums are accumulated from the end with Welford's updates, so all k are
/// tried in one O(n) pass without cancellation at large times.
fn lambda_z(t: &[f64], c: &[f64]) -> Option<LambdaZ> {
    let points: Vec<(f64, f64)> = t
        .iter()
        .zip(c)
        .filter(|&(_, &ci)| ci > 0.0)
        .map(|(&ti, &ci)| (ti, ci.ln()))
        .collect();
    if points.len() < MIN_LAMBDA_Z_POINTS {
        return None;
    }

    // (points, adjusted R², slope) of every admissible fit.
    let mut fits: Vec<(usize, f64, f64)> = Vec::new();
    let (mut mean_x, mut mean_y, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (k, &(x, y)) in points.iter().rev().enumerate() {
        let n = (k + 1) as f64;
        let dx = x - mean_x;
        let dy = y - mean_y;
        mean_x += dx / n;
        mean_y += dy / n;
        sxx += dx * (x - mean_x);
        syy += dy * (y - mean_y);
        sxy += dx * (y - mean_y);
        if k + 1 < MIN_LAMBDA_Z_POINTS || !(sxx > 0.0 && syy > 0.0) {
            continue;
        }
        let slope = sxy / sxx;
        if !(slope < 0.0 && slope.is_finite()) {
            continue;
        }
        let r2 = (sxy * sxy / (sxx * syy)).min(1.0);
        let r2_adjusted = 1.0 - (1.0 - r2) * (n - 1.0) / (n - 2.0);
        if r2_adjusted.is_finite() {
            fits.push((k + 1, r2_adjusted, slope));
        }
    }

    let best = fits.iter().map(|f| f.1).fold(f64::NEG_INFINITY, f64::max);
    let &(points, r2_adjusted, slope) = fits
        .iter()
        .filter(|f| f.1 >= best - ADJ_R2_TOLERANCE)
        .max_by_key(|f| f.0)?;
    Some(LambdaZ {
        rate: -slope,
        points,
        r2_adjusted,
    })
}

/// Time from the peak at `i_max` to the first fall to half the peak,
/// interpolated log-linearly between the bracketing samples.
fn initial_half_life(t: &[f64], c: &[f64], i_max: usize) -> Option<f64> {
    let half = c[i_max] / 2.0;
    // Concentrations here are finite and clamped at zero, so no NaN.
    if half <= 0.0 {
        return None;
    }
    let j = i_max + 1 + c[i_max + 1..].iter().position(|&ci| ci <= half)?;
    // c[j - 1] > half >= c[j]: the crossing lies in (t[j-1], t[j]].
    let (t1, t2, c1, c2) = (t[j - 1], t[j], c[j - 1], c[j]);
    let frac = if c2 > 0.0 {
        (c1 / half).ln() / (c1 / c2).ln()
    } else {
        (c1 - half) / (c1 - c2)
    };
    finite(t1 + (t2 - t1) * frac - t[i_max])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::LN_2;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// Dense sampling of f on [0, end] every `step` seconds.
    fn sample(step: f64, end: f64, f: impl Fn(f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let n = (end / step).round() as usize;
        let t: Vec<f64> = (0..=n).map(|i| i as f64 * step).collect();
        let c = t.iter().map(|&ti| f(ti)).collect();
        (t, c)
    }

    /// Monoexponential bolus C = C0 e^{-kt}: t½ = ln2/k (initial and
    /// terminal), AUC∞ = C0/k, AUMC∞ = C0/k², MRT = 1/k, CL = dose·k/C0,
    /// Vss = Vz = dose/C0. The log-down trapezoid is exact for exponential
    /// segments, so the areas agree to rounding (~1e-10), not merely to the
    /// 1e-4 a linear trapezoid would need.
    #[test]
    fn monoexponential_closed_form() {
        let (c0, dose) = (1e15, 1e12);
        let k = LN_2 / 600.0; // 10 min half-life, 10 half-lives sampled every 10 s
        let (t, c) = sample(10.0, 6000.0, |t| c0 * (-k * t).exp());
        let f = non_compartmental(&t, &c, 0.0, dose);

        assert_eq!(f.c_max, c0);
        assert_eq!(f.t_max_s, 0.0);
        assert!(rel(f.initial_half_life_s.unwrap(), LN_2 / k) < 1e-6);
        assert!(rel(f.terminal_half_life_s.unwrap(), LN_2 / k) < 1e-6);
        assert!(rel(f.lambda_z_per_s.unwrap(), k) < 1e-6);
        // Exact fit: every point after the peak is used.
        assert_eq!(f.lambda_z_points, t.len() - 1);
        assert!(f.lambda_z_r2_adjusted.unwrap() > 1.0 - 1e-9);
        assert!(rel(f.auc_inf.unwrap(), c0 / k) < 1e-10);
        assert!(rel(f.auc_extrapolated_fraction.unwrap(), 2f64.powi(-10)) < 1e-6);
        assert!(rel(f.aumc_inf.unwrap(), c0 / (k * k)) < 1e-9);
        assert!(rel(f.mrt_s.unwrap(), 1.0 / k) < 1e-9);
        assert!(rel(f.clearance_m3_per_s.unwrap(), dose / (c0 / k)) < 1e-9);
        assert!(rel(f.vss_m3.unwrap(), dose / c0) < 1e-9);
        assert!(rel(f.vz_m3.unwrap(), dose / c0) < 1e-9);
        // AUC_last = C0/k (1 - 2^-10), also exact.
        assert!(rel(f.auc_last, c0 / k * (1.0 - 2f64.powi(-10))) < 1e-10);
        assert!(rel(auc_trapezoid(&t, &c), f.auc_last) < 1e-15);
    }

    /// Same monoexponential, dosed at t0 = 1000 s after samples of an earlier
    /// (here: arbitrary) history: figures must equal those of the curve
    /// shifted to 0, since times count from the dose.
    #[test]
    fn dose_time_shift_and_pre_dose_samples_ignored() {
        let k = LN_2 / 600.0;
        let (t0, c0) = (1000.0, 3.0);
        let (mut t, mut c) = sample(10.0, 6000.0, |t| c0 * (-k * t).exp());
        let reference = non_compartmental(&t, &c, 0.0, 1.0);
        for ti in &mut t {
            *ti += t0;
        }
        t.splice(0..0, [0.0, 500.0, 999.0]);
        c.splice(0..0, [1e9, 1e9, 1e9]);
        let f = non_compartmental(&t, &c, t0, 1.0);
        assert_eq!(f.c_max, c0);
        assert_eq!(f.t_max_s, 0.0);
        assert_eq!(f.lambda_z_points, reference.lambda_z_points);
        assert!(rel(f.auc_inf.unwrap(), c0 / k) < 1e-10);
        assert!(rel(f.mrt_s.unwrap(), 1.0 / k) < 1e-8);
    }

    /// Biexponential C = A e^{-αt} + B e^{-βt}, α = ln2/7 min, β = ln2/5 h,
    /// A = 0.8, B = 0.2 (units of C0), every minute for 48 h:
    /// terminal t½ → ln2/β, AUC∞ = A/α + B/β,
    /// MRT = (A/α² + B/β²)/(A/α + B/β).
    ///
    /// With 2880 samples the adjusted-R² rule (PKNCA / WinNonlin, tolerance
    /// 1e-4) accepts a regression reaching back to ~21 min after the dose,
    /// where the α phase is still 1/3 of the curve: the dense terminal tail
    /// dominates the total sum of squares, so the early points barely move
    /// R². That biases t½ by ~1.5e-3 (shorter), hence the 2e-3 tolerance;
    /// the regression itself is exact once the α phase is gone (checked by
    /// re-analysing from 24 h on).
    #[test]
    fn biexponential_closed_form() {
        let c0 = 1e15;
        let (a, b) = (0.8 * c0, 0.2 * c0);
        let alpha = LN_2 / (7.0 * 60.0);
        let beta = LN_2 / (5.0 * 3600.0);
        let (t, c) = sample(60.0, 48.0 * 3600.0, |t| {
            a * (-alpha * t).exp() + b * (-beta * t).exp()
        });
        let f = non_compartmental(&t, &c, 0.0, 1e12);

        let auc = a / alpha + b / beta;
        let mrt = (a / (alpha * alpha) + b / (beta * beta)) / auc;
        let t_half = f.terminal_half_life_s.unwrap();
        assert!(rel(t_half, LN_2 / beta) < 2e-3, "terminal t½ {t_half}");
        assert!(t_half < LN_2 / beta, "early points can only shorten it");
        assert!(rel(f.auc_inf.unwrap(), auc) < 1e-4);
        assert!(rel(f.mrt_s.unwrap(), mrt) < 1e-3);
        // The rule stops short of the whole curve (the first minutes fit
        // badly) but keeps far more than the minimum.
        assert!(f.lambda_z_points < t.len() - 1);
        assert!(f.lambda_z_points > t.len() / 2);

        // From 24 h on, α e^{-αt} is below 1e-50 of the curve: λz = β.
        let late = non_compartmental(&t, &c, 24.0 * 3600.0, 1e12);
        assert!(rel(late.terminal_half_life_s.unwrap(), LN_2 / beta) < 1e-6);
        assert_eq!(late.lambda_z_points, 24 * 60);
        // Initial half-life: the curve halves during the fast phase.
        let ih = f.initial_half_life_s.unwrap();
        // Against the true crossing C(t) = C0/2 (bisection): log-linear
        // interpolation over one minute of a log-convex curve is off by
        // ~3e-4 relative here (585.58 s vs 585.38 s).
        let (mut lo, mut hi) = (0.0, 3600.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if a * (-alpha * mid).exp() + b * (-beta * mid).exp() > c0 / 2.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        assert!(rel(ih, lo) < 1e-3, "initial t½ {ih} vs {lo}");
    }

    /// Zero-order infusion of rate R for T into a one-compartment body
    /// (volume V, elimination k): C rises as R/(kV)(1 - e^{-kt}) and falls as
    /// C(T) e^{-k(t-T)}, so t_max = T and C_max = R/(kV)(1 - e^{-kT});
    /// AUC∞ = R·T/(kV) (= dose/CL).
    #[test]
    fn infusion_peak() {
        let (r, v, k, t_inf) = (1e9, 3e-3, LN_2 / 1800.0, 3600.0);
        let dose_time = 500.0;
        let conc = |t: f64| {
            if t <= t_inf {
                r / (k * v) * (1.0 - (-k * t).exp())
            } else {
                r / (k * v) * (1.0 - (-k * t_inf).exp()) * (-k * (t - t_inf)).exp()
            }
        };
        let (t, c): (Vec<f64>, Vec<f64>) = (0..=380)
            .map(|i| {
                let ti = i as f64 * 60.0 + 200.0; // some samples before the dose
                let ci = if ti < dose_time {
                    7e20
                } else {
                    conc(ti - dose_time)
                };
                (ti, ci)
            })
            .unzip();
        let f = non_compartmental(&t, &c, dose_time, r * t_inf);
        let c_max = r / (k * v) * (1.0 - (-k * t_inf).exp());
        assert_eq!(f.t_max_s, t_inf);
        assert!(rel(f.c_max, c_max) < 1e-12);
        assert!(rel(f.terminal_half_life_s.unwrap(), LN_2 / k) < 1e-6);
        assert!(rel(f.auc_inf.unwrap(), r * t_inf / (k * v)) < 1e-4);
        assert!(rel(f.clearance_m3_per_s.unwrap(), k * v) < 1e-4);
        // Initial half-life from the peak is one elimination half-life.
        assert!(rel(f.initial_half_life_s.unwrap(), LN_2 / k) < 1e-6);
    }

    #[test]
    fn degenerate_inputs_give_none() {
        let empty = non_compartmental(&[], &[], 0.0, 1.0);
        assert_eq!(empty, PkFigures::empty(1.0));

        let mismatched = non_compartmental(&[0.0, 1.0, 2.0], &[1.0, 0.5], 0.0, 1.0);
        assert_eq!(mismatched, PkFigures::empty(1.0));
        assert_eq!(auc_trapezoid(&[0.0, 1.0], &[1.0]), 0.0);

        let zeros = non_compartmental(&[0.0, 1.0, 2.0, 3.0], &[0.0; 4], 0.0, 1.0);
        assert_eq!(zeros.c_max, 0.0);
        assert_eq!(zeros.auc_last, 0.0);
        assert_eq!(zeros.initial_half_life_s, None);
        assert_eq!(zeros.lambda_z_per_s, None);
        assert_eq!(zeros.clearance_m3_per_s, None);

        // All samples before the dose.
        let before = non_compartmental(&[0.0, 1.0], &[1.0, 1.0], 5.0, 1.0);
        assert_eq!(before, PkFigures::empty(1.0));

        // Too few points after the peak for a terminal phase.
        let short = non_compartmental(&[0.0, 1.0, 2.0], &[4.0, 2.0, 1.0], 0.0, 1.0);
        assert_eq!(short.lambda_z_per_s, None);
        assert_eq!(short.lambda_z_points, 0);
        assert!(short.initial_half_life_s.is_some());
        assert!(short.auc_last > 0.0);

        // Rising to the end: no negative slope, never halves.
        let rising = non_compartmental(
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            0.0,
            1.0,
        );
        assert_eq!(rising.t_max_s, 4.0);
        assert_eq!(rising.lambda_z_per_s, None);
        assert_eq!(rising.initial_half_life_s, None);

        // Flat after the peak: slope 0 is not a terminal phase.
        let flat = non_compartmental(
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[2.0, 1.0, 1.0, 1.0, 1.0],
            0.0,
            1.0,
        );
        assert_eq!(flat.lambda_z_per_s, None);

        // Non-finite samples are skipped, not propagated.
        let nan = non_compartmental(
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            &[8.0, f64::NAN, 4.0, f64::INFINITY, 1.0, 0.5],
            0.0,
            1.0,
        );
        assert_eq!(nan.c_max, 8.0);
        assert!(nan.auc_last.is_finite());
        assert!(nan.lambda_z_per_s.is_some());
    }

    /// Trailing zeros: AUC_last stops at the last positive concentration
    /// (PKNCA `auclast`), and the zero is excluded from the regression.
    #[test]
    fn trailing_zero_is_below_quantification() {
        let k = LN_2;
        let t = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let c: Vec<f64> = t[..5]
            .iter()
            .map(|&ti| (-k * ti).exp())
            .chain([0.0])
            .collect();
        let f = non_compartmental(&t, &c, 0.0, 1.0);
        assert!(rel(f.auc_last, (1.0 - (-4.0 * k).exp()) / k) < 1e-12);
        assert_eq!(f.lambda_z_points, 4);
        assert!(rel(f.auc_inf.unwrap(), 1.0 / k) < 1e-12);
    }

    /// The adjusted-R² rule: the last 3 points are an exact exponential
    /// (adjusted R² = 1); earlier points carry alternating log-noise ±δ.
    /// Small noise keeps every fit within 1e-4 of the best, so the longest
    /// wins; large noise leaves only the exact 3-point fit.
    #[test]
    fn lambda_z_adjusted_r2_rule() {
        let t: Vec<f64> = (0..20).map(f64::from).collect();
        let curve = |delta: f64| -> Vec<f64> {
            t.iter()
                .enumerate()
                .map(|(i, &ti)| {
                    let noise = if i >= 17 {
                        0.0
                    } else if i % 2 == 0 {
                        delta
                    } else {
                        -delta
                    };
                    (-0.3 * ti + noise).exp()
                })
                .collect()
        };
        let small = non_compartmental(&t, &curve(1e-4), 0.0, 1.0);
        assert_eq!(small.lambda_z_points, 19);
        assert!(small.lambda_z_r2_adjusted.unwrap() < 1.0);
        assert!(rel(small.lambda_z_per_s.unwrap(), 0.3) < 1e-3);

        let large = non_compartmental(&t, &curve(0.1), 0.0, 1.0);
        assert_eq!(large.lambda_z_points, 3);
        assert!(rel(large.lambda_z_per_s.unwrap(), 0.3) < 1e-9);
    }

    /// Linear interpolation: exact on a line, None outside the sampled range.
    #[test]
    fn value_at_interpolates() {
        let t = [0.0, 1.0, 1.0, 3.0];
        let v = [0.0, 2.0, 5.0, 9.0];
        assert_eq!(value_at(&t, &v, 0.5), Some(1.0));
        assert_eq!(value_at(&t, &v, 2.0), Some(7.0));
        assert_eq!(value_at(&t, &v, 3.0), Some(9.0));
        assert_eq!(value_at(&t, &v, 0.0), Some(0.0));
        assert_eq!(value_at(&t, &v, -0.1), None);
        assert_eq!(value_at(&t, &v, 3.1), None);
        assert_eq!(value_at(&t, &v, f64::NAN), None);
        assert_eq!(value_at(&[], &[], 0.0), None);
        assert_eq!(value_at(&t, &v[..3], 0.5), None);
    }

    /// Unsorted times violate the precondition; debug builds say so.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "times must be sorted")]
    fn unsorted_times_trip_debug_assert() {
        non_compartmental(&[0.0, 2.0, 1.0], &[1.0, 1.0, 1.0], 0.0, 1.0);
    }

    /// Serialises to plain JSON (no NaN) for the recorders.
    #[test]
    fn serialises() {
        let (t, c) = sample(10.0, 600.0, |t| (-0.01 * t).exp());
        let f = non_compartmental(&t, &c, 0.0, 1.0);
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains("\"terminal_half_life_s\""));
        let empty = serde_json::to_string(&PkFigures::empty(1.0)).unwrap();
        assert!(empty.contains("\"auc_inf\":null"));
    }

    fn curve() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, f64)> {
        prop::collection::vec((0.0f64..1000.0, 1e-3f64..1e15), 0..60).prop_flat_map(|steps| {
            let mut t = Vec::with_capacity(steps.len());
            let mut c = Vec::with_capacity(steps.len());
            let mut now = 0.0;
            for (dt, ci) in steps {
                now += dt;
                t.push(now);
                c.push(ci);
            }
            let end = now;
            (Just(t), Just(c), 0.0..=end.max(1.0))
        })
    }

    proptest! {
        /// Random positive sampled curves: no panic, non-negative areas,
        /// positive half-lives, and every reported figure finite.
        #[test]
        fn random_positive_curves((t, c, dose_time) in curve(), dose in 1.0f64..1e12) {
            let f = non_compartmental(&t, &c, dose_time, dose);
            prop_assert!(f.auc_last >= 0.0 && f.auc_last.is_finite());
            prop_assert!(f.c_max >= 0.0 && f.t_max_s >= 0.0);
            if let Some(h) = f.terminal_half_life_s {
                prop_assert!(h > 0.0);
                prop_assert!(f.lambda_z_points >= 3);
            }
            if let Some(h) = f.initial_half_life_s {
                prop_assert!(h >= 0.0);
            }
            for x in [f.auc_inf, f.aumc_inf, f.mrt_s, f.clearance_m3_per_s, f.vss_m3, f.vz_m3, f.auc_extrapolated_fraction].into_iter().flatten() {
                prop_assert!(x.is_finite() && x >= 0.0);
            }
            if let Some(a) = f.auc_inf {
                prop_assert!(a >= f.auc_last);
            }
            prop_assert!(auc_trapezoid(&t, &c) >= 0.0);
        }
    }
}
