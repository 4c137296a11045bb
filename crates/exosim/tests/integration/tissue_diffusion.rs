//! Laws of vesicle motion in the tissue engine: free diffusion (mean squared
//! displacement), Stokes–Einstein, drift, the boundary conditions with their
//! conservation of vesicles, and independence of the thread count.
//!
//! Statistical bounds. On each axis a displacement over time t is Gaussian
//! with variance s² = 2·D·t, so its square has mean s² and variance 2·s⁴.
//! The squared displacement r² in d dimensions sums d independent squares:
//! E[r²] = 2·d·D·t and Var[r²] = 2·d·s⁴. The mean over N particles therefore
//! has sd = sqrt(2·d/N)·s² = sqrt(2/(N·d))·(2·d·D·t). The mean displacement
//! on one axis has sd = sqrt(2·D·t/N). Tests accept 3.5 sd.

use exosim::tissue::domain::{Boundary, Domain, DomainError, Fate};
use exosim::tissue::motion::{
    BoundaryCounts, CHUNK, VesicleParticles, brownian_step, stokes_einstein,
};
use exosim::units::{MICROMETRE, NANOMETRE, ZERO_CELSIUS};

const D: f64 = 5.0e-12; // m²/s, a 100-nm-class vesicle, order of magnitude

fn big_box(dim: usize, boundary: Boundary) -> Domain {
    Domain::uniform(dim, [-1.0; 3], [1.0; 3], boundary).unwrap()
}

fn particles_at(
    n: usize,
    pos: [f64; 3],
    weight: impl Fn(usize) -> f64,
    classes: u32,
) -> VesicleParticles {
    let mut p = VesicleParticles::with_capacity(n);
    for i in 0..n {
        p.push(pos, weight(i), i as u32 % classes, 0.0);
    }
    p
}

/// Mean of r² and its sd bound, for a run of `steps` steps of `dt`.
fn check_msd(dim: usize, mean_r2: f64, n: usize, t: f64) {
    let expected = 2.0 * dim as f64 * D * t;
    let sd = (2.0 / (n as f64 * dim as f64)).sqrt() * expected;
    let z = (mean_r2 - expected) / sd;
    println!("MSD {dim}-D: {mean_r2:.4e} m² expected {expected:.4e}, z = {z:.2}");
    assert!(z.abs() < 3.5, "MSD off by {z:.2} sd");
}

#[test]
fn free_diffusion_msd_is_2_d_dim_d_t_in_3d_unbounded() {
    // Law: <r²> = 2·d·D·t (Einstein). Box of 2 m against steps of µm: no
    // particle comes near a wall, the domain is effectively infinite.
    let n = 20_000;
    let (dt, steps) = (0.1, 10);
    let domain = big_box(3, Boundary::Absorbing);
    let mut p = particles_at(n, [0.0; 3], |_| 1.0, 1);
    let mut counts = BoundaryCounts::new(1);
    for s in 0..steps {
        brownian_step(&mut p, &domain, &[D], [0.0; 3], dt, 11, s, &mut counts);
    }
    assert!(p.alive.iter().all(|&a| a));
    let mean_r2 = (0..n)
        .map(|i| p.position(i).iter().map(|x| x * x).sum::<f64>())
        .sum::<f64>()
        / n as f64;
    check_msd(3, mean_r2, n, dt * steps as f64);
}

#[test]
fn free_diffusion_msd_is_2_d_dim_d_t_in_2d_periodic_unwrapped() {
    // Law: <r²> = 2·d·D·t, here in a periodic 2-D box of 20 µm, smaller than
    // the spread (14 µm rms per axis at the end), with the unwrapped
    // displacement rebuilt from each step's minimum-image displacement
    // (step rms 1.4 µm, L/2 = 7 sd: a wrong image is negligible).
    let n = 20_000;
    let (dt, steps) = (0.2, 100);
    let l = 20.0 * MICROMETRE;
    let domain = Domain::uniform(2, [0.0; 3], [l, l, 1.0], Boundary::Periodic).unwrap();
    let mut p = particles_at(n, [0.5 * l, 0.5 * l, 0.0], |_| 1.0, 1);
    let mut counts = BoundaryCounts::new(1);
    let mut unwrapped = vec![[0.0f64; 2]; n];
    for s in 0..steps {
        let before: Vec<[f64; 2]> = (0..n)
            .map(|i| [p.position(i)[0], p.position(i)[1]])
            .collect();
        brownian_step(&mut p, &domain, &[D], [0.0; 3], dt, 12, s, &mut counts);
        for i in 0..n {
            for (a, now) in p.position(i).into_iter().take(2).enumerate() {
                assert!((0.0..l).contains(&now), "periodic wrap leaves the box");
                let mut d = now - before[i][a];
                d -= l * (d / l).round();
                unwrapped[i][a] += d;
            }
        }
    }
    assert!(p.alive.iter().all(|&a| a));
    assert_eq!(
        p.z().iter().filter(|&&z| z != 0.0).count(),
        0,
        "2-D moves z"
    );
    let mean_r2 = unwrapped
        .iter()
        .map(|u| u[0] * u[0] + u[1] * u[1])
        .sum::<f64>()
        / n as f64;
    check_msd(2, mean_r2, n, dt * steps as f64);
}

#[test]
fn stokes_einstein_100_nm_in_water_at_37_c_is_6_6_um2_per_s() {
    // Law: D = k_B·T / (3·π·η·d); docs/references.md#stokes-einstein (derived): 6.6 µm²/s.
    let d = stokes_einstein(100.0 * NANOMETRE, ZERO_CELSIUS + 37.0, 0.69e-3);
    let reference = 6.6 * MICROMETRE * MICROMETRE;
    println!(
        "D(100 nm, water, 37 °C) = {:.4} µm²/s",
        d / (MICROMETRE * MICROMETRE)
    );
    assert!((d / reference - 1.0).abs() < 0.02);
    // D ∝ 1/d: 50 nm gives twice as much.
    let d50 = stokes_einstein(50.0 * NANOMETRE, ZERO_CELSIUS + 37.0, 0.69e-3);
    assert!((d50 / d - 2.0).abs() < 1e-12);
}

#[test]
fn drift_mean_displacement_is_v_t() {
    // Law: <Δx_a> = v_a·t, with sd sqrt(2·D·t/N) on each axis.
    let n = 20_000;
    let (dt, steps) = (1.0, 5);
    let v = [1.0e-6, -0.5e-6, 0.2e-6]; // interstitial flow, 0.1–2 µm/s
    let domain = big_box(3, Boundary::Reflective);
    let mut p = particles_at(n, [0.0; 3], |_| 1.0, 1);
    let mut counts = BoundaryCounts::new(1);
    for s in 0..steps {
        brownian_step(&mut p, &domain, &[D], v, dt, 13, s, &mut counts);
    }
    let t = dt * steps as f64;
    let sd = (2.0 * D * t / n as f64).sqrt();
    for (a, coord) in [p.x(), p.y(), p.z()].into_iter().enumerate() {
        let mean = coord.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let z = (mean - v[a] * t) / sd;
        println!(
            "drift axis {a}: mean {mean:.4e} m expected {:.4e}, z = {z:.2}",
            v[a] * t
        );
        assert!(z.abs() < 3.5, "axis {a} off by {z:.2} sd");
    }
}

#[test]
fn reflective_walls_conserve_particles_even_for_steps_longer_than_the_box() {
    // Law: a reflective box loses nothing; positions stay inside even when
    // one step (rms 10 µm) crosses the 2-µm box several times. Long-time
    // density is uniform: the mean tends to the centre.
    let n = 10_000;
    let l = 2.0 * MICROMETRE;
    let domain = Domain::uniform(3, [0.0; 3], [l; 3], Boundary::Reflective).unwrap();
    let mut p = particles_at(n, [0.1 * l, 0.2 * l, 0.9 * l], |i| 1.0 + (i % 3) as f64, 2);
    let mut counts = BoundaryCounts::new(2);
    let total = p.alive_weight(2);
    for s in 0..10 {
        brownian_step(
            &mut p,
            &domain,
            &[5e-11, 1e-11],
            [0.3e-6, 0.0, 0.0],
            1.0,
            14,
            s,
            &mut counts,
        );
    }
    assert!(p.alive.iter().all(|&a| a));
    assert!((0..n).all(|i| domain.contains(&p.position(i))));
    assert_eq!(counts, BoundaryCounts::new(2));
    assert_eq!(p.alive_weight(2), total);
    // Uniform in [0, l]: mean l/2, sd l/sqrt(12·N).
    let mean_y = p.y().iter().map(|&y| y as f64).sum::<f64>() / n as f64;
    let z = (mean_y - 0.5 * l) / (l / (12.0 * n as f64).sqrt());
    assert!(z.abs() < 3.5, "not uniform after mixing: z = {z:.2}");
}

#[test]
fn absorbing_and_draining_walls_conserve_vesicles_exactly() {
    // Law (mass balance): alive + absorbed + drained = released, exactly,
    // per class; every particle is alive or counted once.
    let n = 3 * CHUNK + 123;
    let l = 5.0 * MICROMETRE;
    let mut faces = [[Boundary::Reflective; 2]; 3];
    faces[0] = [Boundary::Absorbing, Boundary::Draining];
    faces[2] = [Boundary::Draining, Boundary::Reflective];
    let domain = Domain::new(3, [0.0; 3], [l; 3], faces).unwrap();
    // Dyadic weights: every partial sum is exact whatever the order.
    let weight = |i: usize| [0.5, 1.0, 2.0, 4.0][i % 4];
    let mut p = particles_at(n, [0.5 * l; 3], weight, 3);
    let released = p.alive_weight(3);
    let mut counts = BoundaryCounts::new(3);
    for s in 0..20 {
        brownian_step(
            &mut p,
            &domain,
            &[2e-12, 5e-12, 1e-11],
            [0.2e-6, 0.0, 0.0],
            0.1,
            15,
            s,
            &mut counts,
        );
    }
    let alive = p.alive_weight(3);
    for c in 0..3 {
        println!(
            "class {c}: released {} = alive {} + absorbed {} + drained {}",
            released[c], alive[c], counts.absorbed[c], counts.drained[c]
        );
        assert_eq!(
            alive[c] + counts.absorbed[c] + counts.drained[c],
            released[c]
        );
        assert!(counts.absorbed[c] > 0.0 && counts.drained[c] > 0.0);
    }
    // Every dead particle lies beyond an absorbing or draining face.
    for i in 0..n {
        let pos = p.position(i);
        assert_eq!(p.alive[i], domain.contains(&pos), "particle {i}");
    }
    // Faster classes lose a larger fraction, and some of each stays.
    let lost = |c: usize| (counts.absorbed[c] + counts.drained[c]) / released[c];
    assert!(lost(0) < lost(1) && lost(1) < lost(2) && lost(2) < 1.0);
}

#[test]
fn step_is_independent_of_thread_count() {
    // Law (reproducibility): same seed, same positions, bit for bit, with 1
    // and 2 threads, over several chunks and a partial one.
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let l = 4.0 * MICROMETRE;
            let mut faces = [[Boundary::Periodic; 2]; 3];
            faces[1] = [Boundary::Absorbing, Boundary::Reflective];
            faces[2] = [Boundary::Reflective, Boundary::Draining];
            let domain = Domain::new(3, [0.0; 3], [l; 3], faces).unwrap();
            let mut p = particles_at(
                3 * CHUNK + 17,
                [0.5 * l; 3],
                |i| 0.1 * (1 + i % 7) as f64,
                2,
            );
            let mut counts = BoundaryCounts::new(2);
            for s in 0..20 {
                brownian_step(
                    &mut p,
                    &domain,
                    &[3e-12, 6e-12],
                    [1e-6, 0.0, 0.0],
                    0.2,
                    16,
                    s,
                    &mut counts,
                );
            }
            (p, counts)
        })
    };
    let (a, ca) = run(1);
    let (b, cb) = run(2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits32(a.x()), bits32(b.x()));
    assert_eq!(bits32(a.y()), bits32(b.y()));
    assert_eq!(bits32(a.z()), bits32(b.z()));
    assert_eq!(a.alive, b.alive);
    assert_eq!(bits(&ca.absorbed), bits(&cb.absorbed));
    assert_eq!(bits(&ca.drained), bits(&cb.drained));
    assert!(a.alive.iter().any(|&x| !x), "no losses: test too weak");
    // A different seed moves them elsewhere.
    assert_ne!(bits32(a.x()), {
        let mut p = particles_at(10, [2e-6; 3], |_| 1.0, 1);
        let d = Domain::uniform(3, [0.0; 3], [4e-6; 3], Boundary::Periodic).unwrap();
        brownian_step(
            &mut p,
            &d,
            &[3e-12],
            [0.0; 3],
            0.2,
            17,
            0,
            &mut BoundaryCounts::new(1),
        );
        bits32(p.x())
    });
}

#[test]
fn domain_validation_rejects_bad_boxes() {
    let r = Boundary::Reflective;
    assert_eq!(
        Domain::uniform(4, [0.0; 3], [1.0; 3], r),
        Err(DomainError::Dimension(4))
    );
    assert!(matches!(
        Domain::uniform(3, [0.0; 3], [1.0, 0.0, 1.0], r),
        Err(DomainError::Extent { axis: 1, .. })
    ));
    assert!(matches!(
        Domain::uniform(3, [0.0; 3], [1.0, 1.0, f64::NAN], r),
        Err(DomainError::Extent { axis: 2, .. })
    ));
    // In 2-D the z extent is not used.
    assert!(Domain::uniform(2, [0.0; 3], [1.0, 1.0, 0.0], r).is_ok());
    let mut faces = [[r; 2]; 3];
    faces[1][0] = Boundary::Periodic;
    assert_eq!(
        Domain::new(3, [0.0; 3], [1.0; 3], faces),
        Err(DomainError::HalfPeriodic { axis: 1 })
    );
}

#[test]
fn domain_apply_mirrors_wraps_absorbs_and_drains() {
    let mut faces = [[Boundary::Reflective; 2]; 3];
    faces[0] = [Boundary::Periodic; 2];
    faces[2] = [Boundary::Absorbing, Boundary::Reflective];
    let domain = Domain::new(3, [0.0; 3], [1.0; 3], faces).unwrap();
    // Periodic wraps, reflective mirrors (also across many box lengths).
    let mut pos = [2.25, -0.25, 0.5];
    assert_eq!(domain.apply(&mut pos), Fate::Inside);
    assert_eq!(pos, [0.25, 0.25, 0.5]);
    let mut pos = [-0.75, 7.25, 0.5];
    assert_eq!(domain.apply(&mut pos), Fate::Inside);
    assert_eq!(pos, [0.25, 0.75, 0.5]);
    // Mirrored at the upper reflective face, then beyond the absorbing one.
    let mut pos = [0.5, 0.5, 2.5];
    assert_eq!(domain.apply(&mut pos), Fate::Absorbed { axis: 2, side: 0 });
    // Mirrored at the upper face and back inside.
    let mut pos = [0.5, 0.5, 1.25];
    assert_eq!(domain.apply(&mut pos), Fate::Inside);
    assert_eq!(pos[2], 0.75);
    let drain = Domain::new(
        2,
        [0.0; 3],
        [1.0; 3],
        [[Boundary::Draining, Boundary::Reflective]; 3],
    )
    .unwrap();
    let mut pos = [0.5, -0.1, 99.0];
    assert_eq!(drain.apply(&mut pos), Fate::Drained { axis: 1, side: 0 });
}
