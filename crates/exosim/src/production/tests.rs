//! The production engine against closed forms and its own accounts.

use super::*;

const DAY: f64 = 86_400.0;

fn model(harvests: u32, recovery: f64) -> ProductionModel {
    ProductionModel {
        producer: "msc".into(),
        platform: "test".into(),
        culture: Culture {
            units: 3.0,
            seeded: 1e6,
            max_cells: 2e7,
            growth_rate: std::f64::consts::LN_2 / (1.5 * DAY),
            release_rate: 1e4 / DAY,
            medium_volume: 50e-6,
            decay_rate: 0.0,
        },
        schedule: Schedule {
            expansion: 3.0 * DAY,
            interval: 2.0 * DAY,
            harvests,
            fraction: 0.8,
            perfusion: 0.0,
        },
        isolation: Isolation {
            method: "sec".into(),
            recovery,
            purity: Some(1e10),
        },
        demand: Some(Demand {
            dose: 1e9,
            need: 1e11,
        }),
    }
}

/// Law: RK4 in hour steps follows the logistic's closed form, and its
/// stages integrate the cell-time ∫N dt to the closed form as well.
#[test]
fn growth_and_release_follow_the_logistic_closed_form() {
    let (n0, k, r) = (1e5, 4e7, std::f64::consts::LN_2 / DAY);
    for days in [0.5, 3.0, 10.0, 30.0] {
        let t = days * DAY;
        let culture = Culture {
            units: 1.0,
            seeded: n0,
            max_cells: k,
            growth_rate: r,
            release_rate: 1.0,
            medium_volume: 1.0,
            decay_rate: 0.0,
        };
        let span = condition(n0, 0.0, &culture, 0.0, t);
        let (n, area) = (span.cells, span.released);
        let exact_n = logistic(n0, k, r, t);
        let exact_area = logistic_integral(n0, k, r, t);
        assert!(
            (n - exact_n).abs() <= 1e-7 * exact_n,
            "{days} d: {n} vs {exact_n}"
        );
        assert!(
            (area - exact_area).abs() <= 1e-7 * exact_area,
            "{days} d: {area} vs {exact_area}"
        );
    }
}

/// Law: a run's released vesicles, from the closed form, equal what its
/// harvests collected plus the discarded growth medium and what is left.
#[test]
fn a_run_releases_what_the_closed_form_says() {
    let m = model(5, 0.6);
    let run = simulate(&m);
    let c = &m.culture;
    let t = m.run_time();
    let exact =
        c.units * c.release_rate * logistic_integral(c.seeded, c.max_cells, c.growth_rate, t);
    let released = run.ledger.released;
    assert!(
        (released - exact).abs() <= 1e-8 * exact,
        "{released} vs {exact}"
    );
    assert!(
        (run.final_cells - c.units * logistic(c.seeded, c.max_cells, c.growth_rate, t)).abs()
            < 1e-6 * run.final_cells
    );
}

/// Law: released = recovered + lost in isolation + discarded + decayed +
/// left in the medium, to rounding, in batch and under perfusion, with and
/// without decay.
#[test]
fn every_vesicle_released_is_accounted_for() {
    let ways = [
        (0.0, 0.0),
        (1.0 / DAY, 0.0),
        (0.0, 0.5 / DAY),
        (2.0 / DAY, 0.3 / DAY),
    ];
    for harvests in [1, 4, 30] {
        for (recovery, (perfusion, decay)) in [0.1, 0.6, 1.0]
            .into_iter()
            .flat_map(|r| ways.map(|w| (r, w)))
        {
            let mut m = model(harvests, recovery);
            m.schedule.perfusion = perfusion;
            m.culture.decay_rate = decay;
            let run = simulate(&m);
            assert!(run.ledger.relative_error() < 1e-14, "{:?}", run.ledger);
            let collected: f64 = run.harvests.iter().map(|h| h.collected).sum();
            assert!((collected - run.ledger.collected()).abs() <= 1e-14 * collected);
        }
    }
}

/// More harvests collect more; a lower recovery makes fewer doses.
#[test]
fn more_harvests_more_vesicles_lower_recovery_fewer_doses() {
    let few = simulate(&model(2, 0.6)).ledger.recovered;
    let many = simulate(&model(6, 0.6)).ledger.recovered;
    assert!(many > few, "{many} <= {few}");
    let doses = |recovery| {
        let m = model(6, recovery);
        supply(&m, &simulate(&m)).unwrap().doses_per_batch
    };
    assert!(doses(0.1) < doses(0.6), "{} vs {}", doses(0.1), doses(0.6));
}

/// Doses per batch, batches and times follow from the run's product.
#[test]
fn doses_follow_from_the_product() {
    let m = model(4, 0.5);
    let run = simulate(&m);
    let s = supply(&m, &run).unwrap();
    let product = run.ledger.recovered;
    assert_eq!(s.doses_per_batch, (product / 1e9).floor());
    assert_eq!(s.batches_needed, (1e11 / product).ceil());
    assert!((s.time_per_dose - m.run_time() * 1e9 / product).abs() < 1e-9 * s.time_per_dose);
    assert_eq!(s.time_for_study, s.batches_needed * m.run_time());
    assert_eq!(s.protein_per_dose_ug, Some(0.1));
}

/// A unit at its capacity K (no growth) whose medium is perfused at φ and
/// whose vesicles decay at k, from P₀: with λ = k + φ and P* = qK/λ,
/// `P(t) = P* + (P₀ − P*) e^{−λt}`, and the perfused and decayed counts are
/// φ and k times `∫P = P* t + (P₀ − P*)(1 − e^{−λt})/λ`; RK4 within 1e-7.
#[test]
fn perfused_and_decaying_medium_follows_its_closed_form() {
    let k_cells = 3e7;
    let culture = Culture {
        units: 1.0,
        seeded: k_cells,
        max_cells: k_cells,
        growth_rate: std::f64::consts::LN_2 / DAY,
        release_rate: 2e4 / DAY,
        medium_volume: 20e-6,
        decay_rate: std::f64::consts::LN_2 / (3.0 * DAY),
    };
    for (perfusion, p0) in [(0.0, 0.0), (1.0 / DAY, 5e11), (4.0 / DAY, 1e10)] {
        let lambda = culture.decay_rate + perfusion;
        let p_star = culture.release_rate * k_cells / lambda;
        for days in [0.25, 1.0, 7.0] {
            let t = days * DAY;
            let span = condition(k_cells, p0, &culture, perfusion, t);
            let e = (-lambda * t).exp();
            let p = p_star + (p0 - p_star) * e;
            let integral = p_star * t + (p0 - p_star) * (1.0 - e) / lambda;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-7 * b.abs().max(1.0);
            assert!(close(span.medium, p), "{days} d: {} vs {p}", span.medium);
            assert!(close(span.decayed, culture.decay_rate * integral));
            assert!(close(span.perfused, perfusion * integral));
            assert!(close(span.released, culture.release_rate * k_cells * t));
        }
    }
}

/// Law: perfused at φ without decay, a unit at capacity settles at
/// P* = qK/φ, so the perfusate's concentration tends to qK/(φV); batch
/// harvests of the same culture every τ collect qKτ/V per unit volume.
#[test]
fn perfusion_settles_at_release_over_flow() {
    let mut m = model(40, 1.0);
    m.culture.seeded = m.culture.max_cells;
    m.schedule.expansion = 0.0;
    m.schedule.interval = DAY;
    m.schedule.perfusion = 2.0 / DAY;
    let run = simulate(&m);
    let c = &m.culture;
    let expected = c.release_rate * c.max_cells / (m.schedule.perfusion * c.medium_volume);
    let last = run.harvests.last().unwrap().concentration;
    assert!((last / expected - 1.0).abs() < 1e-7, "{last} vs {expected}");
    m.schedule.perfusion = 0.0;
    m.schedule.fraction = 1.0;
    let batch = simulate(&m).harvests.last().unwrap().concentration;
    let expected = c.release_rate * c.max_cells * DAY / c.medium_volume;
    assert!(
        (batch / expected - 1.0).abs() < 1e-12,
        "{batch} vs {expected}"
    );
}
