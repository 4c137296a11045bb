//! Addressed uptake through the full tissue step: motion, cell list,
//! Brownian-bridge contact, affinity and capacity.

use exosim::tissue::contact::{Sphere, smoluchowski_absorbed};
use exosim::tissue::domain::{Boundary, Domain};
use exosim::tissue::motion::{BoundaryCounts, VesicleParticles};
use exosim::tissue::uptake::{
    Affinity, CellBodies, CellGrid, StepSettings, UptakeCounts, step_with_uptake,
};
use rand::RngExt;

fn reflective_box(half: f64) -> Domain {
    Domain::uniform(3, [-half; 3], [half; 3], Boundary::Reflective).unwrap()
}

/// Uniform positions in the shell r_in < r < r_out around the origin.
fn shell(n: usize, r_in: f64, r_out: f64, seed: u64) -> VesicleParticles {
    let mut rng = exosim::random::stream(seed, 99, 0);
    let mut p = VesicleParticles::with_capacity(n);
    while p.len() < n {
        let x: [f64; 3] = [
            rng.random_range(-r_out..r_out),
            rng.random_range(-r_out..r_out),
            rng.random_range(-r_out..r_out),
        ];
        let r = (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt();
        if r > r_in && r < r_out {
            p.push(x, 1.0, 0, 0.0);
        }
    }
    p
}

/// Smoluchowski: a perfectly absorbing cell (uptake probability 1) in an
/// initially uniform suspension takes up c·(4πDRT + 8R²√(πDT)) vesicles by
/// time T; the full step (cell list + bridge contact) must reproduce it
/// within 3 % at a step where √(DΔt) = 0.4 R.
#[test]
fn a_perfect_absorber_takes_up_at_the_smoluchowski_rate() {
    let (d, r, dt, steps) = (1.0, 1.0, 0.16, 10u64);
    let t = dt * steps as f64;
    let r_out = r + 6.0 * (d * t).sqrt();
    let n = 1_000_000;
    let domain = reflective_box(r_out + 2.0);
    let mut particles = shell(n, r, r_out, 1);
    let c = n as f64 / (4.0 / 3.0 * std::f64::consts::PI * (r_out.powi(3) - r.powi(3)));
    let mut cells = CellBodies::default();
    cells.push(Sphere::new([0.0; 3], r), 0, f64::INFINITY);
    let grid = CellGrid::build(&cells, &domain, 2.0);
    let affinity = Affinity::uniform(1, 1, 1.0);
    let mut boundary = BoundaryCounts::new(1);
    let mut uptake = UptakeCounts::new(1, 1);
    for step in 0..steps {
        let settings = StepSettings {
            domain: &domain,
            d_per_class: &[d],
            drift: [0.0; 3],
            dt,
            seed: 5,
            step,
        };
        step_with_uptake(
            &mut particles,
            &mut cells,
            &grid,
            &affinity,
            settings,
            &mut boundary,
            &mut uptake,
        );
    }
    let expected = smoluchowski_absorbed(d, r, c, t);
    let taken = uptake.get(0, 0);
    let poisson = expected.sqrt() / expected;
    assert!(poisson < 0.01, "statistical error {poisson}");
    let rel = (taken - expected) / expected;
    println!("taken {taken}, Smoluchowski {expected:.0} ({rel:+.4}), Poisson {poisson:.4}");
    assert!(
        rel.abs() < 0.03,
        "taken {taken}, Smoluchowski {expected} ({rel:+.4})"
    );
    assert_eq!(cells.taken[0], taken);
}

/// Uptake follows the affinity table (a class is taken up by one cell type
/// and bounces off the other), stops at each cell's capacity, and every
/// vesicle stays accounted for.
#[test]
fn uptake_is_addressed_saturable_and_conserves_vesicles() {
    let domain = reflective_box(10.0);
    let mut particles = shell(20_000, 0.0, 9.0, 2);
    let mut cells = CellBodies::default();
    cells.push(Sphere::new([-4.0, 0.0, 0.0], 1.5), 0, 25.0);
    cells.push(Sphere::new([4.0, 0.0, 0.0], 1.5), 1, f64::INFINITY);
    // Vesicles that start inside a cell are moved away from it first.
    for i in 0..particles.len() {
        if cells
            .spheres
            .iter()
            .any(|s| s.contains(particles.position(i)))
        {
            particles.alive[i] = false;
        }
    }
    let total: f64 = (0..particles.len())
        .filter(|&i| particles.alive[i])
        .map(|i| particles.weight[i])
        .sum();
    let grid = CellGrid::build(&cells, &domain, 3.0);
    let mut affinity = Affinity::uniform(1, 2, 0.0);
    affinity.set(0, 0, 1.0);
    let mut boundary = BoundaryCounts::new(1);
    let mut uptake = UptakeCounts::new(1, 2);
    for step in 0..50 {
        let settings = StepSettings {
            domain: &domain,
            d_per_class: &[1.0],
            drift: [0.0; 3],
            dt: 0.1,
            seed: 9,
            step,
        };
        step_with_uptake(
            &mut particles,
            &mut cells,
            &grid,
            &affinity,
            settings,
            &mut boundary,
            &mut uptake,
        );
    }
    assert_eq!(
        uptake.get(0, 1),
        0.0,
        "no uptake by a cell type without matching receptors"
    );
    assert!(
        uptake.bounced[0] > 0,
        "vesicles bounce off cells that do not take them up"
    );
    assert_eq!(
        cells.taken[0], 25.0,
        "the first cell saturates at its capacity"
    );
    let alive: f64 = (0..particles.len())
        .filter(|&i| particles.alive[i])
        .map(|i| particles.weight[i])
        .sum();
    assert_eq!(
        alive + uptake.class_total(0) + boundary.absorbed[0] + boundary.drained[0],
        total
    );
    for i in (0..particles.len()).filter(|&i| particles.alive[i]) {
        assert!(
            !cells
                .spheres
                .iter()
                .any(|s| s.contains(particles.position(i))),
            "no vesicle inside a cell"
        );
    }
}

/// The same seed gives the same positions and counts.
#[test]
fn uptake_steps_are_reproducible() {
    let run = || {
        let domain = reflective_box(5.0);
        let mut particles = shell(5000, 1.0, 4.0, 3);
        let mut cells = CellBodies::default();
        cells.push(Sphere::new([0.0; 3], 1.0), 0, 100.0);
        let grid = CellGrid::build(&cells, &domain, 2.0);
        let affinity = Affinity::uniform(1, 1, 0.5);
        let mut boundary = BoundaryCounts::new(1);
        let mut uptake = UptakeCounts::new(1, 1);
        for step in 0..20 {
            let settings = StepSettings {
                domain: &domain,
                d_per_class: &[0.5],
                drift: [0.1, 0.0, 0.0],
                dt: 0.2,
                seed: 4,
                step,
            };
            step_with_uptake(
                &mut particles,
                &mut cells,
                &grid,
                &affinity,
                settings,
                &mut boundary,
                &mut uptake,
            );
        }
        (
            particles.x().to_vec(),
            uptake.weight.clone(),
            uptake.bounced.clone(),
        )
    };
    assert_eq!(run(), run());
}
