//! The liquid-biopsy pipeline against closed forms and statistics.
//!
//! Each test names the law it checks. Deterministic laws are held to a
//! relative error of 1e-6 or better; Monte Carlo checks use intervals
//! (binomial 99 %, or ±4 standard errors) so they fail by chance with
//! negligible probability, and they are seeded, so they are reproducible.

use exosim::biopsy::growth::{
    self, BranchingProcess, CELLS_PER_M3, GrowthLaw, LineageFate, SWITCH_CELLS,
};
use exosim::biopsy::kinetics::{
    BloodKinetics, ExponentialSource, MarkerKinetics, exponential_integrator_step, steady_state,
};
use exosim::biopsy::measurement::{Assay, Isolation, Protocol, Sampling};
use exosim::biopsy::screening::{
    self, BurdenState, ScreeningModel, ThresholdRule, Variability, YEAR, detection_curve,
    minimal_detectable_diameter, resolve_threshold, screen_cohort,
};
use exosim::random::stream;
use exosim::units::{DAY, LITRE, MILLILITRE};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Classical fourth-order Runge–Kutta for a scalar ODE.
fn rk4(f: impl Fn(f64, f64) -> f64, y0: f64, t_end: f64, steps: usize) -> f64 {
    let h = t_end / steps as f64;
    let mut y = y0;
    for i in 0..steps {
        let t = i as f64 * h;
        let k1 = f(t, y);
        let k2 = f(t + 0.5 * h, y + 0.5 * h * k1);
        let k3 = f(t + 0.5 * h, y + 0.5 * h * k2);
        let k4 = f(t + h, y + h * k3);
        y += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    y
}

fn blood() -> BloodKinetics {
    BloodKinetics {
        background: 2e6,
        elimination_rate: BloodKinetics::rate_from_half_life(7.0 * 60.0),
        plasma_volume: 3.0 * LITRE,
    }
}

/// Steady state of a constant source with first-order elimination: M* = input / k.
#[test]
fn steady_state_blood_level_is_input_over_elimination() {
    let b = blood();
    let cells = 1e9;
    let s = 0.01 * 60.0 / 3600.0;
    let kin = MarkerKinetics {
        growth: GrowthLaw::Exponential { rate: 0.0 },
        initial_cells: cells,
        source_per_cell: s,
        blood: b,
        modes: None,
        burden: None,
        release: None,
    };
    let input = b.background + s * cells;
    let expected = steady_state(input, b.elimination_rate);
    assert_eq!(expected, input / b.elimination_rate);
    // From an empty blood pool, 100 half-lives later, by the integrator.
    let m = kin.advance(0.0, 0.0, 700.0 * 60.0, 60.0);
    assert!(rel(m, expected) < 1e-6, "{m} vs {expected}");
    assert!(rel(kin.steady_concentration(cells) * b.plasma_volume, expected) < 1e-12);
    // And by many small steps of the integrator (no growth: exact too).
    let mut m = 0.0;
    for _ in 0..42_000 {
        m = exponential_integrator_step(
            m,
            s * cells,
            s * cells,
            b.background,
            b.elimination_rate,
            1.0,
        );
    }
    assert!(rel(m, expected) < 1e-6, "{m} vs {expected}");
}

/// dM/dt = s₀e^{γt} + B − kM: the closed form against RK4, and the exponential
/// integrator (one step, many steps) against the closed form.
#[test]
fn exponentially_growing_source_with_first_order_elimination_matches_closed_form() {
    for (gamma, k, m0) in [
        (0.3, 1.0, 0.0),
        (2.0, 0.5, 7.0),
        (0.01, 3.0, 1.0),
        (-0.5, 0.5, 2.0),
    ] {
        let src = ExponentialSource {
            initial_source: 3.0,
            growth_rate: gamma,
            background: 0.4,
            elimination_rate: k,
            initial_amount: m0,
        };
        let t_end = 4.0;
        let numeric = rk4(
            |t, m| 3.0 * (gamma * t).exp() + 0.4 - k * m,
            m0,
            t_end,
            20_000,
        );
        let exact = src.amount(t_end);
        assert!(
            rel(exact, numeric) < 1e-6,
            "γ={gamma} k={k}: {exact} vs {numeric}"
        );
        let one = exponential_integrator_step(m0, 3.0, 3.0 * (gamma * t_end).exp(), 0.4, k, t_end);
        assert!(rel(one, exact) < 1e-12, "one step: {one} vs {exact}");
        let mut m = m0;
        let h = t_end / 37.0;
        for i in 0..37 {
            let (a, b) = (i as f64 * h, (i + 1) as f64 * h);
            m = exponential_integrator_step(
                m,
                3.0 * (gamma * a).exp(),
                3.0 * (gamma * b).exp(),
                0.4,
                k,
                h,
            );
        }
        assert!(rel(m, exact) < 1e-12, "37 steps: {m} vs {exact}");
    }
}

/// Crossing time of C(t) = threshold. With M₀ = B/k + s₀/(γ+k) the transient
/// vanishes and t* = ln((M* − B/k)(γ+k)/s₀)/γ exactly.
#[test]
fn threshold_crossing_time_matches_closed_form() {
    let (s0, g, b, k) = (5.0, 0.02, 1.0, 0.7);
    let src = ExponentialSource {
        initial_source: s0,
        growth_rate: g,
        background: b,
        elimination_rate: k,
        initial_amount: b / k + s0 / (g + k),
    };
    let target = 1e4;
    let closed = ((target - b / k) * (g + k) / s0).ln() / g;
    let found = src.crossing_time(target, 1e6).unwrap();
    assert!(rel(found, closed) < 1e-12, "{found} vs {closed}");
    assert_eq!(src.crossing_time(target, closed * 0.9), None);
    assert_eq!(src.crossing_time(src.initial_amount, 1.0), Some(0.0));

    // A tumour from the tumour-free steady state: the transient decays in
    // minutes, so the crossing is the closed form to rounding.
    let bl = blood();
    let rate = growth::rate_from_doubling_time(100.0 * DAY);
    let kin = MarkerKinetics {
        growth: GrowthLaw::Exponential { rate },
        initial_cells: 1e6,
        source_per_cell: 1e-3,
        blood: bl,
        modes: None,
        burden: None,
        release: None,
    };
    let threshold = 3.0 * bl.baseline_amount() / bl.plasma_volume;
    let (t, m) = kin.crossing(threshold, 20.0 * YEAR, DAY).unwrap();
    let k = bl.elimination_rate;
    let closed = ((threshold * bl.plasma_volume - bl.background / k) * (rate + k) / (1e-3 * 1e6))
        .ln()
        / rate;
    assert!(rel(t, closed) < 1e-9, "{t} vs {closed}");
    assert!(rel(m, threshold * bl.plasma_volume) < 1e-9);

    // Gompertz growth: root found within an integrator step agrees with a
    // fine-step reference (the quasi-steady level (B + sN)/k crossing).
    let gomp = MarkerKinetics {
        growth: GrowthLaw::Gompertz {
            rate: 1e-8,
            capacity: 1e12,
        },
        ..kin
    };
    let (tg, _) = gomp.crossing(threshold, 20.0 * YEAR, DAY).unwrap();
    let n_star = (threshold * bl.plasma_volume * k - bl.background) / 1e-3;
    let quasi = gomp.growth.time_to(1e6, n_star).unwrap();
    assert!(rel(tg, quasi) < 1e-4, "{tg} vs {quasi}");
}

/// Logistic and Gompertz closed forms against RK4 integration of dN/dt.
#[test]
fn gompertz_and_logistic_closed_forms_match_rk4() {
    let laws = [
        GrowthLaw::Logistic {
            rate: 0.05 / DAY,
            capacity: 1e11,
        },
        GrowthLaw::Gompertz {
            rate: 0.004 / DAY,
            capacity: 1e12,
        },
        GrowthLaw::Exponential { rate: 0.01 / DAY },
    ];
    for law in laws {
        for t_end in [30.0 * DAY, 400.0 * DAY, 1500.0 * DAY] {
            let n0 = 1e6;
            let numeric = rk4(|_, n| law.derivative(n), n0, t_end, 20_000);
            let exact = law.cells(n0, t_end);
            assert!(
                rel(exact, numeric) < 1e-8,
                "{law:?} t={t_end}: {exact} vs {numeric}"
            );
            if t_end > 400.0 * DAY {
                continue; // near the plateau, time_to is ill-conditioned
            }
            let back = law.time_to(n0, exact).unwrap();
            assert!(
                rel(back, t_end) < 1e-8,
                "{law:?}: time_to {back} vs {t_end}"
            );
        }
    }
    // Sphere of 1 cm at 10⁹ cells/cm³.
    let n = growth::cells_for_diameter(0.01, CELLS_PER_M3);
    assert!(rel(growth::diameter(n, CELLS_PER_M3), 0.01) < 1e-14);
    assert!(
        rel(
            growth::doubling_time(growth::rate_from_doubling_time(120.0 * DAY)),
            120.0 * DAY
        ) < 1e-14
    );
}

/// Birth–death branching from one cell survives with probability 1 − d/b.
#[test]
fn branching_survival_is_one_minus_d_over_b() {
    for (b, d) in [(1.0, 0.4), (1.0, 0.8)] {
        let bp = BranchingProcess { birth: b, death: d };
        let p = bp.survival_probability();
        assert_eq!(p, 1.0 - d / b);
        let runs = 4000u64;
        // Reaching 500 cells is survival to within (d/b)^500 < 1e-48.
        let survived = (0..runs)
            .filter(|&i| {
                let mut rng = stream(11, 77, i);
                matches!(bp.run_until(&mut rng, 500), LineageFate::Reached { .. })
            })
            .count() as f64;
        let half = 2.5758 * (p * (1.0 - p) / runs as f64).sqrt();
        let frac = survived / runs as f64;
        assert!(
            (frac - p).abs() < half,
            "b={b} d={d}: {frac} vs {p} ± {half}"
        );
    }
    // Conditioned lineages always reach the switch, after 1/(1 − d/b) attempts on average.
    let bp = BranchingProcess {
        birth: 1.0,
        death: 0.5,
    };
    let mut attempts = 0u64;
    for i in 0..400 {
        let mut rng = stream(12, 77, i);
        let l = bp.surviving_lineage(&mut rng, 300).unwrap();
        assert_eq!(*l.cells.last().unwrap(), 300);
        assert!(l.cells.iter().all(|&c| c > 0));
        attempts += l.attempts as u64;
    }
    let mean = attempts as f64 / 400.0;
    assert!((mean - 2.0).abs() < 0.3, "mean attempts {mean}");
    assert!(
        BranchingProcess {
            birth: 1.0,
            death: 1.0
        }
        .surviving_lineage(&mut stream(1, 1, 1), SWITCH_CELLS)
        .is_none()
    );
}

/// Poisson sampling (mean C·V) and Beta recovery (mean r̄) give, over many
/// tests, mean counts C·V and C·V·r̄, and an unbiased calibrated estimate.
#[test]
fn measurement_means_follow_poisson_and_beta() {
    let mut assay = Assay::digital_plasmonic();
    assay.cv = 0.0;
    assay.lod = 0.0;
    let protocol = Protocol::new(
        Isolation {
            recovery_mean: 0.3,
            recovery_cv: 0.4,
            nonvesicle_carry_over: 0.0,
        },
        assay,
    );
    let c = 4e3 / MILLILITRE; // 40 EVs expected in 10 µL
    let lambda = c * protocol.analysed_volume();
    assert!(rel(lambda, 40.0) < 1e-12);
    let n = 20_000;
    let (mut s1, mut s2, mut i1, mut e1, mut e2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let m = protocol.measure(c, &mut stream(5, 9, i));
        let n = m.in_sample.expect("a full test reports its sample");
        s1 += n;
        s2 += n * n;
        i1 += m.isolated;
        e1 += m.estimate;
        e2 += m.estimate * m.estimate;
    }
    let nf = n as f64;
    let mean = s1 / nf;
    let var = s2 / nf - mean * mean;
    assert!(
        (mean - lambda).abs() < 4.0 * (lambda / nf).sqrt(),
        "Poisson mean {mean}"
    );
    assert!(
        rel(var, lambda) < 0.05,
        "Poisson variance {var} vs {lambda}"
    );
    let iso = i1 / nf;
    // Var of Binomial(Poisson(λ), Beta) ≤ λr̄ + λ²·var(r); bound the SE with it.
    let var_r = (0.4f64 * 0.3).powi(2);
    let se_iso = ((lambda * 0.3 + lambda * lambda * var_r) / nf).sqrt();
    assert!(
        (iso - lambda * 0.3).abs() < 4.0 * se_iso,
        "isolated mean {iso}"
    );
    let est = e1 / nf;
    let se_est = ((e2 / nf - est * est) / nf).sqrt();
    assert!(
        (est - c).abs() < 4.0 * se_est,
        "estimate mean {est} vs {c} (se {se_est})"
    );

    // Continuous sampling with fixed recovery and no noise reads exactly.
    let mut p = protocol;
    p.sampling = Sampling::Continuous;
    p.isolation.recovery_cv = 0.0;
    let m = p.measure(c, &mut stream(5, 9, 0));
    assert!(rel(m.estimate, c) < 1e-12);
}

/// A threshold at 95 % specificity on one healthy cohort gives 95 % ± Monte
/// Carlo error on a fresh one.
#[test]
fn threshold_at_95_percent_specificity_gives_95_percent_on_fresh_cohort() {
    let mut model = ScreeningModel::example();
    model.protocol.assay.lod = 0.0;
    let n = 20_000;
    let t = resolve_threshold(&model, ThresholdRule::Specificity(0.95), n, 1);
    assert!(t > 5e3 / MILLILITRE, "threshold {t}");
    let (neg, total, (lo, hi)) = screening::specificity(&model, t, n, 2);
    let spec = neg as f64 / total as f64;
    // Two independent cohorts: SE of the difference ≈ √(2·0.95·0.05/n).
    let se = (2.0 * 0.95 * 0.05 / n as f64).sqrt();
    assert!(
        (spec - 0.95).abs() < 4.0 * se,
        "specificity {spec} ({lo}, {hi})"
    );
    // The training cohort itself: exactly the smallest specificity ≥ 95 %.
    let (neg_train, _, _) = screening::specificity(&model, t, n, 1);
    assert_eq!(neg_train, 19_000);
    assert_eq!(
        resolve_threshold(&model, ThresholdRule::Fixed(3.0), n, 1),
        3.0
    );
}

/// Detection probability increases with tumour diameter; the 90 % diameter
/// is beyond the 50 % one; steady and growing states agree when k ≫ γ.
#[test]
fn detection_probability_increases_with_diameter() {
    let mut model = ScreeningModel::example();
    model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 4000, 3);
    let diameters: Vec<f64> = (0..12).map(|i| 1e-3 * 1.4f64.powi(i)).collect();
    let n = 1500;
    let curve = detection_curve(&model, &diameters, BurdenState::Steady, n, 4);
    for w in curve.windows(2) {
        let slack = 3.0 * (0.25 / n as f64).sqrt();
        assert!(w[1].probability + slack >= w[0].probability, "{w:?}");
        assert!(w[0].low <= w[0].probability && w[0].probability <= w[0].high);
    }
    let first = curve.first().unwrap();
    let last = curve.last().unwrap();
    assert!(
        first.probability < 0.2 && last.probability > 0.95,
        "{first:?} {last:?}"
    );
    let d50 = minimal_detectable_diameter(&curve, 0.5).unwrap();
    let d90 = minimal_detectable_diameter(&curve, 0.9).unwrap();
    assert!(d50 < d90, "{d50} {d90}");
    let growing = detection_curve(&model, &diameters, BurdenState::Growing, n, 4);
    let d50g = minimal_detectable_diameter(&growing, 0.5).unwrap();
    assert!(rel(d50g, d50) < 0.05, "{d50g} vs {d50}");
    eprintln!("d50 = {:.2} mm, d90 = {:.2} mm", d50 * 1e3, d90 * 1e3);
}

/// Deterministic screening: the crossing is the closed-form time, and
/// detection happens at the first scheduled test after it.
#[test]
fn deterministic_screening_gives_exact_crossing_time() {
    let mut model = ScreeningModel::example();
    let rate = growth::rate_from_doubling_time(120.0 * DAY);
    model.tumour.growth = GrowthLaw::Exponential { rate };
    model.variability = Variability::default();
    model.deterministic = true;
    model.threshold = 2e4 / MILLILITRE;
    let cross = model.deterministic_crossing().unwrap();
    let b = model.blood;
    let k = b.elimination_rate;
    let s0 = model.shedding.rate_per_cell() * model.tumour.initial_cells;
    let closed =
        ((model.threshold * b.plasma_volume - b.background / k) * (rate + k) / s0).ln() / rate;
    assert!(rel(cross.time, closed) < 1e-9, "{} vs {closed}", cross.time);
    assert!(
        rel(
            cross.cells,
            model.tumour.initial_cells * (rate * closed).exp()
        ) < 1e-9
    );
    let summary = screen_cohort(&model, 50, 9, 16);
    assert_eq!(summary.detected, 50);
    let expected_test = (cross.time / model.interval).ceil() * model.interval;
    let t = summary.mean_time.unwrap();
    assert!((t - expected_test).abs() < 1e-5, "{t} vs {expected_test}");
    for (_, q) in &summary.time_quantiles {
        assert!((q - expected_test).abs() < 1e-5);
    }
    let d = growth::diameter(
        model.tumour.initial_cells * (rate * expected_test).exp(),
        CELLS_PER_M3,
    );
    assert!((summary.mean_diameter.unwrap() - d).abs() < 1e-9);
    assert_eq!(summary.crossing, Some(cross));
}

/// Same seed → identical aggregates whatever the chunk size and chunk order.
#[test]
fn same_seed_gives_identical_aggregates_regardless_of_chunk_size() {
    let model = ScreeningModel::example();
    let n = 600;
    let whole = model.simulate_chunk(42, 0..n);
    for chunk in [1, 7, 64, 1000] {
        let mut agg = model.empty_aggregate();
        let starts: Vec<u64> = (0..n).step_by(chunk as usize).collect();
        for &s in starts.iter().rev() {
            agg.merge(&model.simulate_chunk(42, s..(s + chunk).min(n)));
        }
        assert_eq!(agg, whole, "chunk {chunk}");
        assert_eq!(screen_cohort(&model, n, 42, chunk), whole.summary());
    }
    assert_ne!(model.simulate_chunk(43, 0..n), whole);
}

/// The benchmark case: yearly screening for 10 years of the example model.
#[test]
fn yearly_screening_of_the_example_cohort() {
    let mut model = ScreeningModel::example();
    model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 4000, 3);
    let s = screen_cohort(&model, 2000, 1, 256);
    assert_eq!(s.n, 2000);
    assert!(s.detected > 1000, "{s:?}");
    let t: Vec<f64> = s.time_quantiles.iter().map(|q| q.1).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]));
    assert!(t.iter().all(|&x| (0.0..=10.0 * YEAR).contains(&x)));
    eprintln!(
        "detected {}/{}, median time {:.2} y, median diameter {:.1} mm, never {:.3}",
        s.detected,
        s.n,
        s.time_quantiles[2].1 / YEAR,
        s.diameter_quantiles[2].1 * 1e3,
        s.never_detected_share
    );
}
