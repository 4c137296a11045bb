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
        },
        schedule: Schedule {
            expansion: 3.0 * DAY,
            interval: 2.0 * DAY,
            harvests,
            fraction: 0.8,
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
        let (n, area) = grow(n0, k, r, t);
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

/// Law: released = recovered + lost in isolation + discarded + left in
/// the medium, to rounding.
#[test]
fn every_vesicle_released_is_accounted_for() {
    for harvests in [1, 4, 30] {
        for recovery in [0.1, 0.6, 1.0] {
            let run = simulate(&model(harvests, recovery));
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
