//! The body engine against closed-form pharmacokinetics.
//!
//! Each test names the law it checks; tolerances are relative errors below
//! 1e-6, as the foundation issue requires.

use exosim::body::network::{
    Event, EventKind, Network, SaturableMember, SaturableSite, Tolerances, simulate,
};
use exosim::body::pbpk::Place;
use exosim::scenario::parse_study;

const RTOL: f64 = 1e-10;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn grid(end: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|i| end * i as f64 / n as f64).collect()
}

/// One-compartment IV bolus: N(t) = D e^{−kt}.
#[test]
fn one_compartment_bolus_is_exponential_decay() {
    let mut net = Network::default();
    let c = net.add_state("central");
    let sink = net.add_state("eliminated");
    let k = 2f64.ln() / (7.0 * 60.0);
    net.transfer(c, sink, k);
    let dose = 1e10;
    let events = [Event {
        time: 0.0,
        kind: EventKind::Bolus {
            state: c,
            amount: dose,
        },
    }];
    let times = grid(3600.0 * 2.0, 240);
    let traj = simulate(
        &net,
        &events,
        &times,
        7200.0,
        &Tolerances::uniform(RTOL, dose * 1e-16, net.len()),
        |_| {},
    )
    .unwrap();
    for (t, y) in traj.times.iter().zip(traj.states()) {
        let exact = dose * (-k * t).exp();
        assert!(rel(y[c], exact) < 1e-6, "t = {t}: {} vs {exact}", y[c]);
        assert!(rel(y[c] + y[sink], dose) < 1e-12, "conservation at t = {t}");
    }
}

/// Two-compartment IV bolus (central ⇄ peripheral, elimination from the
/// central one): C(t) = A e^{−αt} + B e^{−βt}, with α, β the roots of
/// λ² − (k12 + k21 + k10) λ + k21 k10 = 0 and A = D(α − k21)/(α − β),
/// B = D(k21 − β)/(α − β) (Gibaldi & Perrier, Pharmacokinetics, ch. 2).
#[test]
fn two_compartment_bolus_matches_biexponential() {
    let (k10, k12, k21) = (0.08 / 60.0, 0.03 / 60.0, 0.004 / 60.0);
    let mut net = Network::default();
    let c = net.add_state("central");
    let p = net.add_state("peripheral");
    let sink = net.add_state("eliminated");
    net.transfer(c, sink, k10);
    net.transfer(c, p, k12);
    net.transfer(p, c, k21);
    let dose = 1e10;
    let s = k10 + k12 + k21;
    let disc = (s * s - 4.0 * k21 * k10).sqrt();
    let (alpha, beta) = ((s + disc) / 2.0, (s - disc) / 2.0);
    let a = dose * (alpha - k21) / (alpha - beta);
    let b = dose * (k21 - beta) / (alpha - beta);
    let events = [Event {
        time: 0.0,
        kind: EventKind::Bolus {
            state: c,
            amount: dose,
        },
    }];
    let end = 48.0 * 3600.0;
    let times = grid(end, 576);
    let traj = simulate(
        &net,
        &events,
        &times,
        end,
        &Tolerances::uniform(RTOL, dose * 1e-16, net.len()),
        |_| {},
    )
    .unwrap();
    for (t, y) in traj.times.iter().zip(traj.states()) {
        let exact = a * (-alpha * t).exp() + b * (-beta * t).exp();
        assert!(rel(y[c], exact) < 1e-6, "t = {t}: {} vs {exact}", y[c]);
    }
}

/// Constant infusion into one compartment: N(t) = (R/k)(1 − e^{−kt}), and
/// after it stops, free decay; the plateau is the steady state R/k.
#[test]
fn constant_infusion_reaches_its_steady_state() {
    let mut net = Network::default();
    let c = net.add_state("central");
    let sink = net.add_state("eliminated");
    let k = 1.0 / 1800.0;
    let rate = 1e6;
    net.transfer(c, sink, k);
    let stop = 12.0 * 3600.0;
    let end = 14.0 * 3600.0;
    let events = [
        Event {
            time: 0.0,
            kind: EventKind::Input {
                state: c,
                delta: rate,
            },
        },
        Event {
            time: stop,
            kind: EventKind::Input {
                state: c,
                delta: -rate,
            },
        },
    ];
    let times = grid(end, 840);
    let traj = simulate(
        &net,
        &events,
        &times,
        end,
        &Tolerances::uniform(RTOL, 1e-3, net.len()),
        |_| {},
    )
    .unwrap();
    let steady = rate / k;
    for (t, y) in traj.times.iter().zip(traj.states()) {
        let exact = if *t <= stop {
            steady * (1.0 - (-k * t).exp())
        } else {
            steady * (1.0 - (-k * stop).exp()) * (-k * (t - stop)).exp()
        };
        if *t > 0.0 {
            assert!(rel(y[c], exact) < 1e-6, "t = {t}: {} vs {exact}", y[c]);
        }
        let infused = rate * t.min(stop);
        assert!(rel(y[c] + y[sink], infused.max(1e-300)) < 1e-9 || infused == 0.0);
    }
    let at_stop = traj.times.iter().position(|&t| t == stop).unwrap();
    assert!(rel(traj.state(at_stop)[c], steady) < 1e-6, "plateau = R/k");
}

/// Repeated bolus doses superpose in a linear system:
/// N(t) = Σ_j D e^{−k (t − t_j)} over the doses given by t.
#[test]
fn repeated_boluses_superpose() {
    let mut net = Network::default();
    let c = net.add_state("central");
    let sink = net.add_state("eliminated");
    let k = 1.0 / 3600.0;
    net.transfer(c, sink, k);
    let dose = 5e9;
    let dose_times = [0.0, 6.0 * 3600.0, 12.0 * 3600.0];
    let events: Vec<Event> = dose_times
        .iter()
        .map(|&t| Event {
            time: t,
            kind: EventKind::Bolus {
                state: c,
                amount: dose,
            },
        })
        .collect();
    let end = 24.0 * 3600.0;
    let times = grid(end, 288);
    let traj = simulate(
        &net,
        &events,
        &times,
        end,
        &Tolerances::uniform(RTOL, dose * 1e-16, net.len()),
        |_| {},
    )
    .unwrap();
    for (t, y) in traj.times.iter().zip(traj.states()) {
        let exact: f64 = dose_times
            .iter()
            .filter(|&&tj| tj <= *t)
            .map(|tj| dose * (-k * (t - tj)).exp())
            .sum();
        assert!(rel(y[c], exact) < 1e-6, "t = {t}");
    }
}

/// Michaelis–Menten elimination has the implicit closed form
/// Km ln(C0/C) + (C0 − C) = Vmax t (Lambert-W relation, Schnell & Mendoza 1997,
/// docs/references.md#schnell-mendoza-1997).
#[test]
fn michaelis_menten_elimination_matches_its_integrated_form() {
    let mut net = Network::default();
    let c = net.add_state("central");
    let sink = net.add_state("macrophages");
    let volume = 1.0;
    let (vmax, km) = (1e7, 5e9);
    net.sites.push(SaturableSite {
        vmax,
        km,
        members: vec![SaturableMember {
            from: c,
            to: sink,
            volume,
            affinity: 1.0,
        }],
    });
    let c0 = 2e10;
    let events = [Event {
        time: 0.0,
        kind: EventKind::Bolus {
            state: c,
            amount: c0,
        },
    }];
    let end = 3600.0;
    let times = grid(end, 60);
    let traj = simulate(
        &net,
        &events,
        &times,
        end,
        &Tolerances::uniform(RTOL, 1e-2, net.len()),
        |_| {},
    )
    .unwrap();
    for (t, y) in traj.times.iter().zip(traj.states()) {
        let cc = y[c];
        let lhs = km * (c0 / cc).ln() + (c0 - cc);
        if *t > 0.0 {
            assert!(rel(lhs, vmax * t) < 1e-6, "t = {t}: {lhs} vs {}", vmax * t);
        }
    }
}

fn study(body_extra: &str, doses: &str) -> exosim::scenario::Study {
    let text = format!(
        r#"
[study]
name = "analytic"
duration = "24 h"
output_interval = "10 min"

[solver]
rtol = 1e-11
atol_fraction = 1e-16

[body]
species = "mouse"
{body_extra}

[[vesicles]]
name = "ev"
blood_degradation_rate = "0.5 /h"

{doses}
"#
    );
    parse_study(&text, "analytic.toml").unwrap()
}

/// Organ uptake switched off everywhere, the whole PBPK body reduces to one
/// compartment: blood holds D e^{−kt} with k the blood degradation rate.
const NO_UPTAKE: &str = r#"
mps = { capacity = 0.0 }
lung_trapping = { max_extraction = 0.0 }
spleen_filtering = { max_extraction = 0.0 }
[body.organs]
liver = { uptake_extraction = 0.0 }
spleen = { uptake_extraction = 0.0 }
lungs = { uptake_extraction = 0.0 }
kidneys = { uptake_extraction = 0.0 }
heart = { uptake_extraction = 0.0 }
brain = { uptake_extraction = 0.0 }
gut = { uptake_extraction = 0.0 }
rest = { uptake_extraction = 0.0 }
"#;

#[test]
fn pbpk_without_uptake_is_one_compartment() {
    let s = study(
        NO_UPTAKE,
        "[[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n",
    );
    let r = exosim::run::run(&s, |_| {}).unwrap();
    let cc = &r.arms[0].classes[0];
    let blood = cc.series(Place::Blood).unwrap();
    let k = 0.5 / 3600.0;
    for (t, n) in r.arms[0].times.iter().zip(blood) {
        let exact = 1e10 * (-k * t).exp();
        assert!(rel(*n, exact) < 1e-6, "t = {t}: {n} vs {exact}");
    }
}

/// A constant source into that one-compartment body: N(t) = (R/k)(1 − e^{−kt}),
/// approaching the steady state R/k.
#[test]
fn pbpk_source_reaches_steady_state() {
    let s = study(
        NO_UPTAKE,
        "[[sources]]\nvesicles = \"ev\"\nrate = \"1e8 /min\"\n",
    );
    let r = exosim::run::run(&s, |_| {}).unwrap();
    let blood = r.arms[0].classes[0].series(Place::Blood).unwrap();
    let (rate, k) = (1e8 / 60.0, 0.5 / 3600.0);
    for (t, n) in r.arms[0].times.iter().zip(blood).skip(1) {
        let exact = rate / k * (1.0 - (-k * t).exp());
        assert!(rel(*n, exact) < 1e-6, "t = {t}: {n} vs {exact}");
    }
    let last = *blood.last().unwrap();
    assert!(
        rel(last, rate / k) < 1e-4,
        "after 12 half-lives the blood level is R/k"
    );
}
