//! Closed forms of the effect models.

use super::*;

const DAY: f64 = 86_400.0;
const TOL: Tolerance = Tolerance {
    rtol: 1e-10,
    atol: 1e-12,
};

fn grid(days: f64, steps: usize) -> Vec<f64> {
    (0..=steps)
        .map(|i| days * DAY * i as f64 / steps as f64)
        .collect()
}

fn constant(times: &[f64], c: f64) -> Exposure {
    Exposure::Concentration(vec![c; times.len()])
}

fn tumour(initial: f64, lambda1: f64, k2: f64) -> TumourGrowth {
    TumourGrowth {
        initial,
        lambda0: 0.3 / DAY,
        lambda1,
        psi: 20.0,
        k1: 0.8 / DAY,
        k2,
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Simeoni et al. (2004): a small untreated tumour grows exponentially,
/// `w = w0·e^{λ0·t}` (here `(λ0·w/λ1)^20 < 1e-40`).
#[test]
fn small_untreated_tumour_grows_exponentially() {
    let times = grid(10.0, 10);
    let g = tumour(1e-9, 1e-6 / DAY, 0.0);
    let c = simulate(
        &times,
        &constant(&times, 0.0),
        &Response::TumourGrowth(g),
        TOL,
    )
    .unwrap();
    for (t, w) in times.iter().zip(&c.response) {
        let exact = 1e-9 * (g.lambda0 * t).exp();
        assert!(rel(*w, exact) < 1e-8, "t = {t}: {w} vs {exact}");
    }
}

/// Simeoni et al. (2004): a large untreated tumour grows linearly,
/// `w = w0 + λ1·t` (here `(λ0·w/λ1)^−20 < 1e-9`).
#[test]
fn large_untreated_tumour_grows_linearly() {
    let times = grid(10.0, 10);
    let g = tumour(1e-5, 1e-6 / DAY, 0.0);
    let c = simulate(
        &times,
        &constant(&times, 0.0),
        &Response::TumourGrowth(g),
        TOL,
    )
    .unwrap();
    for (t, w) in times.iter().zip(&c.response) {
        let exact = 1e-5 + g.lambda1 * t;
        assert!(rel(*w, exact) < 1e-8, "t = {t}: {w} vs {exact}");
    }
}

/// With a constant kill rate `K = k2·C` in the exponential phase,
/// `x1 = w0·e^{at}` (a = λ0 − K) and the transit chain has the closed form
/// of three first-order compartments driven by `K·x1`.
#[test]
fn constant_kill_rate_matches_the_transit_closed_form() {
    let times = grid(20.0, 20);
    let conc = 1e15;
    let g = tumour(1e-9, 1.0, 0.5 / DAY / conc);
    let c = simulate(
        &times,
        &constant(&times, conc),
        &Response::TumourGrowth(g),
        TOL,
    )
    .unwrap();
    let (w0, k, k1) = (g.initial, g.k2 * conc, g.k1);
    let a = g.lambda0 - k;
    for (i, t) in times.iter().enumerate() {
        let f = (a * t).exp() - (-k1 * t).exp();
        let e = (-k1 * t).exp();
        let x1 = w0 * (a * t).exp();
        let x2 = k * w0 / (a + k1) * f;
        let x3 = k * w0 * k1 / (a + k1) * (f / (a + k1) - t * e);
        let x4 = k * w0 * k1 * k1 / (a + k1)
            * (f / (a + k1).powi(2) - t * e / (a + k1) - t * t * e / 2.0);
        let exact = x1 + x2 + x3 + x4;
        assert!(rel(c.response[i], exact) < 1e-8, "t = {t}");
        let p = c.proliferating.as_ref().unwrap()[i];
        assert!(rel(p, x1) < 1e-8, "t = {t}: x1 {p} vs {x1}");
    }
}

fn turnover(kind: Turnover) -> Response {
    Response::Turnover {
        kind,
        kin: 10.0 / DAY,
        kout: 0.5 / DAY,
        action: DrugAction {
            emax: 0.8,
            ec50: 1e12,
            hill: 1.5,
        },
    }
}

/// Indirect-response models I–IV (Dayneka, Garg & Jusko 1993) under a
/// constant concentration relax from `R0 = kin/kout` to their steady
/// state with the closed form `R = Rss + (R0 − Rss)·e^{−k't}`.
#[test]
fn turnover_models_relax_to_their_steady_state() {
    let times = grid(15.0, 30);
    let conc = 2e12;
    let (kin, kout) = (10.0 / DAY, 0.5 / DAY);
    let a = DrugAction {
        emax: 0.8,
        ec50: 1e12,
        hill: 1.5,
    }
    .at(conc);
    let cases = [
        (Turnover::InhibitProduction, kin * (1.0 - a), kout),
        (Turnover::InhibitLoss, kin, kout * (1.0 - a)),
        (Turnover::StimulateProduction, kin * (1.0 + a), kout),
        (Turnover::StimulateLoss, kin, kout * (1.0 + a)),
    ];
    for (kind, kin_eff, kout_eff) in cases {
        let c = simulate(&times, &constant(&times, conc), &turnover(kind), TOL).unwrap();
        let (r0, rss) = (kin / kout, kin_eff / kout_eff);
        for (t, r) in times.iter().zip(&c.response) {
            let exact = rss + (r0 - rss) * (-kout_eff * t).exp();
            assert!(rel(*r, exact) < 1e-8, "{kind:?} t = {t}: {r} vs {exact}");
        }
    }
}

/// Emax at EC50 gives half the largest effect, whatever the Hill
/// coefficient; the direct model adds it to its baseline.
#[test]
fn emax_at_ec50_is_half_the_largest_effect() {
    for hill in [0.5, 1.0, 3.0] {
        let action = DrugAction {
            emax: -40.0,
            ec50: 3e11,
            hill,
        };
        assert!((action.at(3e11) + 20.0).abs() < 1e-12);
        let times = grid(1.0, 2);
        let r = Response::Direct {
            baseline: 100.0,
            action,
        };
        let c = simulate(&times, &constant(&times, 3e11), &r, TOL).unwrap();
        assert!(c.response.iter().all(|e| (e - 80.0).abs() < 1e-12));
    }
}

/// Cargo delivered at a constant rate `q` and eliminated at `ke` reaches
/// `A = q/ke·(1 − e^{−ke·t})`; the concentration is `A` over the volume.
#[test]
fn delivered_cargo_accumulates_to_its_plateau() {
    let times = grid(5.0, 10);
    let (q, ke, v) = (1e6, 0.7 / DAY, 2e-7);
    let exposure = Exposure::Delivered {
        inflow: vec![q; times.len() - 1],
        volume: v,
        elimination: ke,
    };
    let r = Response::Direct {
        baseline: 0.0,
        action: DrugAction {
            emax: 1.0,
            ec50: 1e30,
            hill: 1.0,
        },
    };
    let c = simulate(&times, &exposure, &r, TOL).unwrap();
    for (t, conc) in times.iter().zip(&c.concentration) {
        let exact = q / ke * (1.0 - (-ke * t).exp()) / v;
        assert!(
            *t == 0.0 && *conc == 0.0 || rel(*conc, exact) < 1e-8,
            "t = {t}"
        );
    }
}

/// More cargo delivered into the tumour, smaller tumour: the kill acts
/// through what reached it.
#[test]
fn more_delivered_cargo_shrinks_the_tumour_more() {
    let times = grid(21.0, 21);
    let end = |q: f64| {
        let exposure = Exposure::Delivered {
            inflow: vec![q; times.len() - 1],
            volume: 2e-7,
            elimination: 0.5 / DAY,
        };
        let g = tumour(1e-7, 1e-6 / DAY, 1e-20);
        let c = simulate(&times, &exposure, &Response::TumourGrowth(g), TOL).unwrap();
        *c.response.last().unwrap()
    };
    let (none, low, high) = (end(0.0), end(1e6), end(1e7));
    assert!(none > low && low > high, "{none} {low} {high}");
}
