//! Determinism of the tissue transport kernels: the same inputs and seed give
//! bit-identical particles and counters with 1 and with 2 threads (rayon
//! pools built here), for plain motion and for motion with uptake, with
//! cells whose capacity runs out within a step.

use exosim::tissue::contact::Sphere;
use exosim::tissue::domain::{Boundary, Domain};
use exosim::tissue::motion::{BoundaryCounts, CHUNK, VesicleParticles, brownian_step};
use exosim::tissue::uptake::{
    Affinity, CellBodies, CellGrid, StepSettings, UptakeCounts, step_with_uptake,
};
use rand::RngExt;

const UM: f64 = 1e-6;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

/// Particles spread over the box, of two classes and unequal weights, over
/// several chunks (the last one partial).
fn particles(domain: &Domain, n: usize, seed: u64) -> VesicleParticles {
    let mut rng = exosim::random::stream(seed, 7, 0);
    let mut p = VesicleParticles::with_cargo(2);
    for i in 0..n {
        let pos: [f64; 3] = std::array::from_fn(|a| {
            if a < domain.dim {
                rng.random_range(domain.lower[a]..domain.upper[a])
            } else {
                0.0
            }
        });
        let cargo = [i as f32, 1.0];
        p.push_with_cargo(pos, 1.0 + (i % 3) as f64, (i % 2) as u32, 0.0, &cargo);
    }
    p
}

/// Everything a run produces, as bits.
#[derive(Debug, PartialEq)]
struct Outcome {
    positions: Vec<[u32; 3]>,
    alive: Vec<bool>,
    counters: Vec<u64>,
    bounced: Vec<u64>,
    events: Vec<(u32, u32)>,
    taken: Vec<u64>,
}

fn uptake_run(dim: usize, threads: usize, rebuild_grid: bool) -> Outcome {
    let mut faces = [[Boundary::Reflective; 2]; 3];
    faces[0] = [Boundary::Absorbing, Boundary::Draining];
    faces[1] = [Boundary::Periodic; 2];
    let domain = Domain::new(dim, [0.0; 3], [60.0 * UM; 3], faces).unwrap();
    let mut p = particles(&domain, 5 * CHUNK + 77, 1);
    let mut cells = CellBodies::default();
    let mut rng = exosim::random::stream(2, 7, 1);
    for k in 0..40 {
        let centre: [f64; 3] = std::array::from_fn(|a| {
            if a < dim {
                rng.random_range(8.0 * UM..52.0 * UM)
            } else {
                0.0
            }
        });
        // Small capacities run out within the first steps.
        let capacity = if k % 2 == 0 { 6.0 } else { f64::INFINITY };
        cells.push(Sphere::new(centre, 3.0 * UM), k % 3, capacity);
    }
    let mut grid = CellGrid::build(&cells, &domain, 4.0 * UM);
    let mut affinity = Affinity::uniform(2, 3, 0.7);
    affinity.set(1, 2, 0.0);
    affinity.set(0, 1, 1.0);
    let mut boundary = BoundaryCounts::new(2);
    let mut uptake = UptakeCounts::new(2, 3);
    pool(threads).install(|| {
        for step in 0..8 {
            if rebuild_grid {
                // A new grid resets every particle's distance bound.
                grid = CellGrid::build(&cells, &domain, 4.0 * UM);
            }
            let settings = StepSettings {
                domain: &domain,
                d_per_class: &[4.0 * UM * UM, 1.0 * UM * UM],
                drift: [0.5 * UM, -0.2 * UM, 0.1 * UM],
                dt: 0.05,
                seed: 42,
                step,
            };
            step_with_uptake(
                &mut p,
                &mut cells,
                &grid,
                &affinity,
                settings,
                &mut boundary,
                &mut uptake,
            );
        }
    });
    assert!(
        uptake.events.len() > 100 && uptake.bounced.iter().sum::<u64>() > 100,
        "too few contacts for a meaningful test"
    );
    assert!(
        cells
            .taken
            .iter()
            .zip(&cells.capacity)
            .any(|(t, c)| c.is_finite() && t + 1.0 > *c),
        "no cell reached its capacity"
    );
    assert!(boundary.absorbed.iter().sum::<f64>() > 0.0);
    assert!(boundary.drained.iter().sum::<f64>() > 0.0);
    Outcome {
        positions: (0..p.len())
            .map(|i| [p.x()[i].to_bits(), p.y()[i].to_bits(), p.z()[i].to_bits()])
            .collect(),
        alive: p.alive.clone(),
        counters: boundary
            .absorbed
            .iter()
            .chain(&boundary.drained)
            .chain(&uptake.weight)
            .map(|x| x.to_bits())
            .collect(),
        bounced: uptake.bounced.clone(),
        events: uptake.events.clone(),
        taken: cells.taken.iter().map(|x| x.to_bits()).collect(),
    }
}

#[test]
fn uptake_steps_are_bit_identical_on_one_and_two_threads() {
    for dim in [2, 3] {
        let one = uptake_run(dim, 1, false);
        let two = uptake_run(dim, 2, false);
        assert_eq!(one, two, "{dim}-D");
    }
}

/// The per-particle distance bounds only skip searches that would find no
/// cell within reach, so they never change a result: steps with bounds
/// carried over equal steps that search from scratch.
#[test]
fn distance_bounds_never_change_a_result() {
    for dim in [2, 3] {
        assert_eq!(
            uptake_run(dim, 1, false),
            uptake_run(dim, 1, true),
            "{dim}-D"
        );
    }
}

#[test]
fn brownian_steps_are_bit_identical_on_one_and_two_threads() {
    let run = |threads: usize| {
        let mut faces = [[Boundary::Reflective; 2]; 3];
        faces[2] = [Boundary::Draining, Boundary::Absorbing];
        let domain = Domain::new(3, [0.0; 3], [20.0 * UM; 3], faces).unwrap();
        let mut p = particles(&domain, 3 * CHUNK + 5, 3);
        let mut counts = BoundaryCounts::new(2);
        pool(threads).install(|| {
            for step in 0..10 {
                brownian_step(
                    &mut p,
                    &domain,
                    &[4.0 * UM * UM, 2.0 * UM * UM],
                    [0.0, 0.0, 1.0 * UM],
                    0.1,
                    9,
                    step,
                    &mut counts,
                );
            }
        });
        assert!(counts.absorbed.iter().sum::<f64>() > 0.0);
        assert!(counts.drained.iter().sum::<f64>() > 0.0);
        (
            (0..p.len())
                .map(|i| [p.x()[i].to_bits(), p.y()[i].to_bits(), p.z()[i].to_bits()])
                .collect::<Vec<_>>(),
            p.alive.clone(),
            counts
                .absorbed
                .iter()
                .chain(&counts.drained)
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(1), run(2));
}

/// Compaction drops dead particles and keeps every alive one with its own
/// weight, class, position and cargo.
#[test]
fn compaction_keeps_each_alive_particle_whole() {
    let domain = Domain::uniform(3, [0.0; 3], [50.0 * UM; 3], Boundary::Reflective).unwrap();
    let mut p = particles(&domain, 2 * CHUNK + 3, 4);
    for i in (0..p.len()).step_by(5) {
        p.alive[i] = false;
    }
    let row = |p: &VesicleParticles, i: usize| {
        let pos = p.position(i);
        (
            p.cargo(i)[0].to_bits(),
            pos.map(f64::to_bits),
            p.weight[i].to_bits(),
            p.class[i],
            p.cargo(i)[1].to_bits(),
        )
    };
    let mut before: Vec<_> = (0..p.len())
        .filter(|&i| p.alive[i])
        .map(|i| row(&p, i))
        .collect();
    p.compact();
    assert!(p.alive.iter().all(|&a| a));
    let mut after: Vec<_> = (0..p.len()).map(|i| row(&p, i)).collect();
    assert_ne!(before, after, "compaction reorders along the Morton curve");
    before.sort();
    after.sort();
    assert_eq!(before, after);
}
