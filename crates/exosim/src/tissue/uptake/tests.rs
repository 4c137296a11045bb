use rand::RngExt;

use super::super::contact::{Sphere, bridge_crossing_probability};
use super::super::domain::{Boundary, Domain};
use super::super::motion::{BoundaryCounts, StoredBox, VesicleParticles};
use super::gather::Gathered;
use super::grid::MapView;
use super::grid::{BLOCK, rounding_margin};
use super::passes::FreeMoves;
use super::*;
use crate::random::fill_standard_normal_f32;
use crate::simd::{SimdPath, paths_to_compare};

/// Free diffusion through the uptake kernel (no cell, faces out of
/// reach): each axis's displacement after time t is N(v·t, 2·D·t), so
/// the mean is v·t, the variance 2·D·t and the kurtosis 3; each is
/// checked within 5 standard errors over N = 4·10⁴ particles, in 2-D and
/// 3-D, which tests the normal variates the kernel draws.
#[test]
fn free_moves_follow_the_einstein_law() {
    let (d, dt, steps, n) = (4e-12, 0.01, 25u64, 40_000usize);
    let v = [2e-6, -1e-6, 5e-7];
    for dim in [2, 3] {
        let domain =
            Domain::uniform(dim, [-1.0; 3], [1.0; 3], Boundary::Reflective).expect("a valid box");
        let mut cells = CellBodies::default();
        let grid = CellGrid::build(&cells, &domain, 1e-5);
        let mut p = VesicleParticles::with_capacity(n);
        for _ in 0..n {
            p.push([0.0; 3], 1.0, 0, 0.0);
        }
        let (mut boundary, mut uptake) = (BoundaryCounts::new(1), UptakeCounts::new(1, 1));
        for step in 0..steps {
            let settings = StepSettings {
                domain: &domain,
                d_per_class: &[d],
                drift: v,
                dt,
                seed: 3,
                step,
            };
            let affinity = Affinity::uniform(1, 1, 1.0);
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
        let t = steps as f64 * dt;
        let var = 2.0 * d * t;
        let nf = n as f64;
        for (axis, &va) in v.iter().enumerate().take(dim) {
            let u: Vec<f64> = (0..n).map(|i| p.position(i)[axis] - va * t).collect();
            let m = |k: i32| u.iter().map(|x| x.powi(k)).sum::<f64>() / nf;
            let (m1, m2, m4) = (m(1), m(2), m(4));
            assert!(
                m1.abs() < 5.0 * (var / nf).sqrt(),
                "{dim}-D axis {axis}: mean {m1}"
            );
            assert!(
                (m2 / var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
                "{dim}-D axis {axis}: variance {m2} against {var}"
            );
            let kurtosis = m4 / (m2 * m2);
            assert!(
                (kurtosis - 3.0).abs() < 5.0 * (24.0 / nf).sqrt(),
                "{dim}-D axis {axis}: kurtosis {kurtosis}"
            );
        }
        if dim == 2 {
            assert!((0..n).all(|i| p.position(i)[2] == 0.0), "z moved in 2-D");
        }
    }
}
/// Cells of radius 5 µm at random non-overlapping places in a box of
/// side `side`, and random points outside them.
fn scattered(
    dim: usize,
    side: f64,
    cells: usize,
    points: usize,
) -> (Domain, CellBodies, Vec<[f64; 3]>) {
    let domain =
        Domain::uniform(dim, [0.0; 3], [side; 3], Boundary::Reflective).expect("a valid box");
    let mut rng = crate::random::stream(11, 0, dim as u64);
    let at = |rng: &mut crate::random::Stream| -> [f64; 3] {
        std::array::from_fn(|a| {
            if a < dim {
                rng.random::<f64>() * side
            } else {
                0.0
            }
        })
    };
    let r = 5e-6;
    let mut bodies = CellBodies::default();
    while bodies.len() < cells {
        let c = at(&mut rng);
        if bodies.spheres.iter().all(|o| o.distance(c) >= 2.0 * r) {
            bodies.push(Sphere::new(c, r), 0, f64::INFINITY);
        }
    }
    let mut out = Vec::new();
    while out.len() < points {
        let p = at(&mut rng);
        if bodies.spheres.iter().all(|s| s.distance(p) > s.radius) {
            out.push(p);
        }
    }
    (domain, bodies, out)
}

/// The distance to a union of spheres is 1-Lipschitz, so the map's
/// bound min(|p − C| − R, d₂(c) − |p − c|) (the cell named by the
/// voxel, and the others from the voxel centre; in the `f32` of the
/// move loop) never exceeds the true distance to the nearest cell
/// surface, and falls short of it by at most a voxel diagonal plus
/// rounding to quanta.
#[test]
fn distance_map_bounds_the_distance_to_every_cell() {
    for dim in [2, 3] {
        let (domain, bodies, points) = scattered(dim, 100e-6, 60, 20_000);
        let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
        let map = grid.map.as_ref().expect("a map");
        let view = MapView::new(&grid, rounding_margin(&domain, &grid));
        let diagonal = (dim as f64).sqrt() * map.side;
        for p in points {
            let p32 = p.map(|v| v as f32);
            let (voxel, way) = view.locate(p32);
            let mut read = [[0.0f32]; 5];
            let [others, cx, cy, cz, radius] = read.each_mut().map(|r| &mut r[..]);
            let out = Gathered {
                others,
                cx,
                cy,
                cz,
                radius,
            };
            view.gather::<false>(&[voxel], out);
            let bound32 = view.bound(p32, way, grid.quantum as f32, read.map(|r| r[0]));
            let exact32 = bodies
                .spheres
                .iter()
                .map(|s| s.distance(p32.map(f64::from)) - s.radius)
                .fold(f64::INFINITY, f64::min);
            assert!(
                f64::from(bound32) <= exact32,
                "{dim}-D: f32 bound {bound32} above {exact32}"
            );
            if exact32 < 0.5 * grid.bin {
                assert!(
                    exact32 - f64::from(bound32) <= diagonal + 2.0 * grid.quantum,
                    "{dim}-D: bound {bound32} too far below {exact32}"
                );
            }
        }
    }
}

/// A step that [`MapView::spares`] lets through touches no cell with a
/// bridge probability above the negligible one e^(−2·REACH_SIGMAS²)
/// (checked against every cell in `f64`, as the careful path would),
/// so sparing it changes no outcome and skips no draw; and of the steps
/// that start 0–3 µm from a cell and have no such probability, it
/// spares most (the others' bound from the map is the limit).
#[test]
fn spared_steps_touch_no_cell() {
    let (d, dt) = (4e-12f64, 0.01);
    let sigma = (2.0 * d * dt).sqrt();
    let pad = REACH_SIGMAS * sigma;
    let negligible = (-2.0 * REACH_SIGMAS * REACH_SIGMAS).exp();
    for dim in [2, 3] {
        let (domain, bodies, _) = scattered(dim, 100e-6, 60, 0);
        let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
        let view = MapView::new(&grid, rounding_margin(&domain, &grid));
        let mut rng = crate::random::stream(4, 0, dim as u64);
        let (mut spared, mut near_miss) = (0, 0);
        for i in 0..40_000 {
            // A start 0 to 3 µm from a cell's surface, a normal step.
            let c = bodies.spheres[i % bodies.len()];
            let gap = 3e-6 * rng.random::<f64>();
            let u: [f64; 3] = std::array::from_fn(|a| {
                if a < dim {
                    rng.random::<f64>() - 0.5
                } else {
                    0.0
                }
            });
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            let p32: [f32; 3] =
                std::array::from_fn(|a| (c.centre[a] + (c.radius + gap) * u[a] / norm) as f32);
            let p = p32.map(f64::from);
            if bodies.spheres.iter().any(|s| s.distance(p) <= s.radius) {
                continue;
            }
            let mut g = [0.0f32; 3];
            fill_standard_normal_f32(&mut rng, &mut g[..dim]);
            let step = g.map(|v| sigma as f32 * v);
            let e32: [f32; 3] = std::array::from_fn(|a| p32[a] + step[a]);
            let e = e32.map(f64::from);
            let path = step.iter().map(|v| v * v).sum::<f32>().sqrt();
            let (voxel, way) = view.locate(p32);
            let mut read = [[0.0f32]; 5];
            let [others, cx, cy, cz, radius] = read.each_mut().map(|r| &mut r[..]);
            view.gather::<false>(
                &[voxel],
                Gathered {
                    others,
                    cx,
                    cy,
                    cz,
                    radius,
                },
            );
            let read = read.map(|r| r[0]);
            let lets_through =
                view.spares(p32, e32, way, path, pad as f32, grid.quantum as f32, read);
            let worst = bodies
                .spheres
                .iter()
                .map(|s| bridge_crossing_probability(s.distance(p), s.distance(e), s.radius, d, dt))
                .fold(0.0, f64::max);
            if lets_through {
                spared += 1;
                assert!(
                    worst <= negligible,
                    "{dim}-D: spared with probability {worst}"
                );
            } else if worst <= negligible {
                near_miss += 1;
            }
        }
        assert!(
            spared > near_miss,
            "{dim}-D: {spared} spared, {near_miss} not"
        );
    }
}

/// Bounds decide only which particles skip the contact search, never an
/// outcome (a skipped contact has a bridge probability below the
/// negligible one, and draws nothing): the same steps with and without
/// the distance map give bit-identical particles, uptakes and counts.
#[test]
fn distance_map_changes_no_result() {
    let (domain, bodies, points) = scattered(3, 100e-6, 200, 20_000);
    let plain = CellGrid::build(&bodies, &domain, 10e-6);
    let mapped = plain.clone().with_distance_map(&bodies);
    let run = |grid: &CellGrid| {
        let mut cells = bodies.clone();
        let mut p = VesicleParticles::with_capacity(points.len());
        for &x in &points {
            p.push(x, 1.0, 0, 0.0);
        }
        let (mut boundary, mut uptake) = (BoundaryCounts::new(1), UptakeCounts::new(1, 1));
        let mut events = Vec::new();
        for step in 0..40 {
            let settings = StepSettings {
                domain: &domain,
                d_per_class: &[4e-12],
                drift: [0.0; 3],
                dt: 0.01,
                seed: 5,
                step,
            };
            let affinity = Affinity::uniform(1, 1, 0.5);
            step_with_uptake(
                &mut p,
                &mut cells,
                grid,
                &affinity,
                settings,
                &mut boundary,
                &mut uptake,
            );
            events.append(&mut uptake.events);
        }
        let bits: Vec<[u32; 3]> = (0..p.len())
            .map(|i| [p.x[i].to_bits(), p.y[i].to_bits(), p.z[i].to_bits()])
            .collect();
        (bits, p.alive, events, uptake.bounced, uptake.weight)
    };
    let (a, b) = (run(&plain), run(&mapped));
    assert!(!a.2.is_empty() && a.3[0] > 0, "uptakes and bounces happen");
    assert_eq!(a, b);
}

/// The move loop compiled for AVX2, and written with AVX-512, gives
/// bit-identical results to the scalar passes (Rust neither fuses nor
/// reorders float operations, and the AVX-512 passes do the same
/// operations in the same order), in 2-D and 3-D, with dead particles,
/// particles near cells and a block that ends inside a vector: on every
/// path this processor has (printed; `EXOSIM_REQUIRE_SIMD` makes a
/// missing one fail the test).
#[test]
fn move_loop_is_the_same_on_every_path() {
    let paths = paths_to_compare("move_loop_is_the_same_on_every_path", &SimdPath::ALL);
    for dim in [2, 3] {
        let m = BLOCK - 6;
        let (domain, bodies, mut points) = scattered(dim, 100e-6, 60, m);
        // Every third particle 0.1 to 2 µm from a cell's surface (some
        // take the careful path, some are spared), and a few on a face.
        for (i, p) in points.iter_mut().enumerate() {
            let c = bodies.spheres[i % bodies.len()];
            if i % 3 == 0 {
                let gap = 1e-7 + 1.9e-6 * (i as f64 / m as f64);
                let r = c.radius + gap;
                let angle = i as f64;
                *p = c.centre;
                p[0] += r * angle.cos();
                p[1] += r * angle.sin();
            } else if i % 31 == 1 {
                p[0] = 1e-7;
            }
        }
        let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
        let margin = rounding_margin(&domain, &grid);
        let mut rng = crate::random::stream(2, 0, dim as u64);
        let mut g = [[0.0f32; BLOCK]; 3];
        for ga in g.iter_mut().take(dim) {
            fill_standard_normal_f32(&mut rng, &mut ga[..m]);
        }
        let free: Vec<u8> = (0..m).map(|i| (i * 7 % 256) as u8).collect();
        let alive: Vec<bool> = (0..m).map(|i| i % 5 != 0).collect();
        let (lo, hi) = StoredBox::new(&domain).bounds();
        let run = |path: SimdPath| {
            let mut x: Vec<f32> = points.iter().map(|p| p[0] as f32).collect();
            let mut y: Vec<f32> = points.iter().map(|p| p[1] as f32).collect();
            let mut z: Vec<f32> = points.iter().map(|p| p[2] as f32).collect();
            let mut free = free.clone();
            let mut careful = [0u64; BLOCK / 64];
            let (mut clear, mut left) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
            let moves = FreeMoves {
                x: &mut x,
                y: &mut y,
                z: &mut z,
                alive: &alive,
                free: &mut free,
                g: [&g[0][..m], &g[1][..m], &g[2][..m]],
                sigma: &[2.8e-7; BLOCK][..m],
                pad: &[8.5e-7; BLOCK][..m],
                careful: &mut careful,
                clear: &mut clear[..m],
                left: &mut left[..m],
                shift: [1e-8, -2e-8, 0.0],
                lo,
                hi,
                quantum: grid.quantum as f32,
                per_quantum: (1.0 / grid.quantum) as f32,
                margin: margin as f32,
                map: MapView::new(&grid, margin),
            };
            assert_eq!(path.or_below(), path, "{path} is on this processor");
            moves.run_on(path);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            (bits(&x), bits(&y), bits(&z), free, careful)
        };
        let plain = run(SimdPath::Scalar);
        let careful = plain
            .4
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>();
        assert!(careful > 0 && careful < m / 2, "{careful} careful of {m}");
        for &path in &paths[1..] {
            assert_eq!(plain, run(path), "{dim}-D, {path}");
        }
    }
}
