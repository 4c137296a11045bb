//! Speed and memory of vesicle transport in tissue on the standard problem:
//! N = 10⁶ vesicles with D = 4 µm²/s in a 200-µm cube with reflective faces,
//! among 1000 perfectly absorbing cells of radius 5 µm at random positions
//! (not overlapping, inside the box), Δt = 0.01 s, 100 steps (1 s).
//!
//! Reports, from one invocation:
//! - exosim's particle-steps per second with [`step_with_uptake`] on 1 and 2
//!   threads (rayon pools built here; the two runs must give bit-identical
//!   particles and counts), with particles in random memory order and after
//!   [`VesicleParticles::compact`] (Morton order);
//! - the bare bound of this machine: a loop that only draws three normal
//!   variates per particle and updates a position (`f32` storage, the same
//!   per-chunk PCG-64 generator), with reflective walls and no cells; once
//!   with the kernel's own sampler (`f32` ziggurat, variates of 256
//!   particles drawn together) and once with rand_distr's `f64` ziggurat,
//!   the faster of the two counting as the bound; the latter loop with
//!   ChaCha8 (the project's keyed streams) shows what the generator costs;
//! - the ratio of exosim's one-thread rate to the bare bound, and the
//!   2-thread speed-ups, as medians of [`PAIRS`] rounds of runs back to
//!   back (exosim in random order on 1 and 2 threads, compacted, the bare
//!   loops): this machine's speed drifts over minutes, so figures taken a
//!   minute apart do not make a fair ratio;
//! - the machine's own 2-thread speed-up, the reference for exosim's: the
//!   bare bound's chunks on a rayon pool of 1 and of 2 threads, one
//!   fork-join per step as in [`step_with_uptake`], nothing shared (on this
//!   project's 2-core machines its median was 1.57–1.79×, single rounds
//!   1.16–2.24×, with the host's load);
//! - Smoldyn 2.74 on the same problem (`benches/transport.smoldyn.txt`, the
//!   same cells and starting positions, `boxsize 10`), through
//!   `benches/transport_smoldyn.py`;
//! - the uptake of both against the time-dependent Smoluchowski law for
//!   isolated cells, N(T) = Σ c·(4πDRT + 8R²√(πDT)) with c the starting
//!   concentration outside cells (cells that happen to be close compete a
//!   little, so both fall slightly short of it; their ratio is the clean
//!   comparison);
//! - peak heap bytes per particle, counted by a global allocator that tracks
//!   live and peak bytes: the peak while building the cells, the cell grid
//!   and the particles and stepping them on one thread, minus what was
//!   allocated before, over N.
//!
//! The cell grid carries its distance map ([`CellGrid::with_distance_map`]);
//! the time to build both is printed. With `EXOSIM_BENCH_QUICK=1` only the
//! one-thread runs and the bare bound are done (for development), with
//! rates per CPU second as well, which other jobs on the machine disturb
//! less than wall time; with `EXOSIM_BENCH_QUICK=2`, the 2-thread speed-up
//! of exosim and of the machine only.
//!
//! Run with `cargo bench -p exosim --bench transport`. Needs `python3` with
//! `pip install smoldyn==2.74` for the comparison; without it the exosim
//! figures are printed alone, with a loud notice.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use exosim::random::fill_standard_normal_f32;
use exosim::tissue::contact::{Sphere, smoluchowski_absorbed};
use exosim::tissue::domain::{Boundary, Domain};
use exosim::tissue::motion::{BoundaryCounts, CHUNK, VesicleParticles, chunk_rng};
use exosim::tissue::uptake::{
    Affinity, CellBodies, CellGrid, StepSettings, UptakeCounts, step_with_uptake,
};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Heap bytes allocated now and at the highest point since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes now; the peak restarts from here.
fn reset_peak() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

const UM: f64 = 1e-6;
const N: usize = 1_000_000;
const D: f64 = 4.0 * UM * UM;
const SIDE: f64 = 200.0 * UM;
const CELLS: usize = 1000;
const RADIUS: f64 = 5.0 * UM;
const DT: f64 = 0.01;
const STEPS: u64 = 100;
const SEED: u64 = 20_250_601;
/// Cell-grid bin: the engine's rule, max(2·radius, 5·√(2DΔt)) = 10 µm here
/// (well above the reach of a step, its length plus three diffusion
/// lengths, about 1.3 µm).
const BIN: f64 = 10.0 * UM;
/// Timed repetitions of each exosim run; the fastest counts (the machine is
/// shared, and interference only ever slows a run down).
const REPEATS: usize = 3;
/// One-thread exosim runs (random order, then compacted) and bare-bound
/// runs back to back, for the ratio to the bare bound: the machine's speed
/// drifts over minutes, and each triple shares its moment.
const PAIRS: usize = 7;

fn domain() -> Domain {
    Domain::uniform(3, [0.0; 3], [SIDE; 3], Boundary::Reflective).expect("a valid box")
}

/// 1000 cells at uniform random positions inside the box, none overlapping
/// another (random sequential addition).
fn place_cells() -> CellBodies {
    let mut rng = exosim::random::stream(SEED, 1, 0);
    let mut cells = CellBodies::default();
    while cells.len() < CELLS {
        let c: [f64; 3] = std::array::from_fn(|_| rng.random_range(RADIUS..SIDE - RADIUS));
        let s = Sphere::new(c, RADIUS);
        if cells.spheres.iter().all(|o| o.distance(c) >= 2.0 * RADIUS) {
            cells.push(s, 0, f64::INFINITY);
        }
    }
    cells
}

/// N vesicles uniform in the box outside every cell.
fn place_vesicles(cells: &CellBodies, grid: &CellGrid) -> VesicleParticles {
    let mut rng = exosim::random::stream(SEED, 2, 0);
    let mut p = VesicleParticles::with_capacity(N);
    let mut near = Vec::new();
    while p.len() < N {
        let x: [f64; 3] = std::array::from_fn(|_| rng.random_range(0.0..SIDE));
        // Stored as f32: test the stored position.
        let x = x.map(|v| (v as f32) as f64);
        near.clear();
        grid.candidates(x, RADIUS, &mut near);
        if near
            .iter()
            .all(|&c| cells.spheres[c as usize].distance(x) > RADIUS)
        {
            p.push(x, 1.0, 0, 0.0);
        }
    }
    p
}

/// Peak heap bytes of building the whole transport state (cells, grid,
/// particles) and stepping it 10 times on one thread, and the bytes of the
/// particle store alone.
fn memory_run(domain: &Domain) -> (usize, usize) {
    let before = reset_peak();
    let mut cells = place_cells();
    let grid = CellGrid::build(&cells, domain, BIN).with_distance_map(&cells);
    let mut particles = place_vesicles(&cells, &grid);
    let affinity = Affinity::uniform(1, 1, 1.0);
    let mut boundary = BoundaryCounts::new(1);
    let mut uptake = UptakeCounts::new(1, 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a rayon pool");
    pool.install(|| {
        for step in 0..10 {
            let settings = StepSettings {
                domain,
                d_per_class: &[D],
                drift: [0.0; 3],
                dt: DT,
                seed: SEED,
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
            uptake.events.clear();
        }
    });
    (
        PEAK.load(Ordering::Relaxed) - before,
        particles.heap_bytes(),
    )
}

/// What one timed run leaves behind.
struct Run {
    seconds: f64,
    /// CPU seconds of the whole process over the same run (all threads).
    cpu_seconds: f64,
    particles: VesicleParticles,
    taken: f64,
    events: usize,
}

/// CPU time (user + system, s) of this process so far, from
/// /proc/self/stat (clock ticks of 10 ms; 0 where unreadable): unlike wall
/// time, it does not count the time other jobs held the cores.
fn cpu_seconds() -> f64 {
    let read = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
    };
    read().unwrap_or(0.0)
}

fn run_exosim(
    threads: usize,
    start: &VesicleParticles,
    cells: &CellBodies,
    grid: &CellGrid,
    domain: &Domain,
    repeats: usize,
) -> Run {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    let mut best: Option<Run> = None;
    for _ in 0..repeats {
        let mut particles = start.clone();
        let mut cells = cells.clone();
        let affinity = Affinity::uniform(1, 1, 1.0);
        let mut boundary = BoundaryCounts::new(1);
        let mut uptake = UptakeCounts::new(1, 1);
        let mut events = 0;
        let t0 = Instant::now();
        let cpu0 = cpu_seconds();
        pool.install(|| {
            for step in 0..STEPS {
                let settings = StepSettings {
                    domain,
                    d_per_class: &[D],
                    drift: [0.0; 3],
                    dt: DT,
                    seed: SEED,
                    step,
                };
                step_with_uptake(
                    &mut particles,
                    &mut cells,
                    grid,
                    &affinity,
                    settings,
                    &mut boundary,
                    &mut uptake,
                );
                // The engine drains the events every step to unload cargo.
                events += uptake.events.len();
                uptake.events.clear();
            }
        });
        let seconds = t0.elapsed().as_secs_f64();
        let cpu_seconds = cpu_seconds() - cpu0;
        assert_eq!(boundary, BoundaryCounts::new(1), "reflective box");
        let run = Run {
            seconds,
            cpu_seconds,
            particles,
            taken: uptake.get(0, 0),
            events,
        };
        if best.as_ref().is_none_or(|b| run.seconds < b.seconds) {
            best = Some(run);
        }
    }
    best.expect("at least one repetition")
}

/// The bare bound: per particle three normal variates and a position
/// update with reflective walls, nothing else; `f32` storage, one generator
/// per chunk of [`CHUNK`] particles, one thread. Returns particle-steps per
/// second (best of `repeats`).
fn bare_bound<R: Rng>(
    start: &VesicleParticles,
    make_rng: impl Fn(u64) -> R,
    repeats: usize,
) -> f64 {
    let sigma = (2.0 * D * DT).sqrt();
    let (lo, hi) = (0.0, SIDE);
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let (mut xs, mut ys, mut zs) = (start.x().to_vec(), start.y().to_vec(), start.z().to_vec());
        let t0 = Instant::now();
        for step in 0..STEPS {
            for (k, ((xs, ys), zs)) in xs
                .chunks_mut(CHUNK)
                .zip(ys.chunks_mut(CHUNK))
                .zip(zs.chunks_mut(CHUNK))
                .enumerate()
            {
                let mut rng = make_rng((step << 20) + k as u64);
                for i in 0..xs.len() {
                    for v in [&mut xs[i], &mut ys[i], &mut zs[i]] {
                        let g: f64 = rng.sample(StandardNormal);
                        let mut p = *v as f64 + sigma * g;
                        if p < lo {
                            p = 2.0 * lo - p;
                        } else if p > hi {
                            p = 2.0 * hi - p;
                        }
                        *v = p as f32;
                    }
                }
            }
        }
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box((&xs, &ys, &zs));
    }
    N as f64 * STEPS as f64 / best
}

/// One chunk of the bare bound's step `step`: per chunk `k` of [`CHUNK`]
/// particles one PCG-64 generator, the variates of a block of 256 particles
/// drawn together as `f32` ([`fill_standard_normal_f32`], the sampler of
/// the uptake kernel), then the update with reflective walls.
fn bare_chunk(step: u64, k: usize, xs: &mut [f32], ys: &mut [f32], zs: &mut [f32]) {
    const BLOCK: usize = 256;
    let sigma = (2.0 * D * DT).sqrt() as f32;
    let (lo, hi) = (0.0f32, SIDE as f32);
    let mut g = [[0.0f32; BLOCK]; 3];
    let mut rng = chunk_rng(SEED, 3, (step << 20) + k as u64);
    for ((xs, ys), zs) in xs
        .chunks_mut(BLOCK)
        .zip(ys.chunks_mut(BLOCK))
        .zip(zs.chunks_mut(BLOCK))
    {
        let m = xs.len();
        for ga in &mut g {
            fill_standard_normal_f32(&mut rng, &mut ga[..m]);
        }
        for (a, v) in [xs, ys, zs].into_iter().enumerate() {
            for (v, &g) in v.iter_mut().zip(&g[a][..m]) {
                let mut p = *v + sigma * g;
                if p < lo {
                    p = 2.0 * lo - p;
                } else if p > hi {
                    p = 2.0 * hi - p;
                }
                *v = p;
            }
        }
    }
}

/// The bare bound with exosim's normal variates ([`bare_chunk`] over the
/// chunks in order, one thread). Returns particle-steps per second (best of
/// `repeats`).
fn bare_bound_blocks(start: &VesicleParticles, repeats: usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let (mut xs, mut ys, mut zs) = (start.x().to_vec(), start.y().to_vec(), start.z().to_vec());
        let t0 = Instant::now();
        for step in 0..STEPS {
            for (k, ((xs, ys), zs)) in xs
                .chunks_mut(CHUNK)
                .zip(ys.chunks_mut(CHUNK))
                .zip(zs.chunks_mut(CHUNK))
                .enumerate()
            {
                bare_chunk(step, k, xs, ys, zs);
            }
        }
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box((&xs, &ys, &zs));
    }
    N as f64 * STEPS as f64 / best
}

/// The machine's own scaling: [`bare_chunk`] on a rayon pool of `threads`
/// threads, the chunks of each step in parallel (one fork-join per step, as
/// in [`step_with_uptake`]). Its 2-thread speed-up is what a loop with no
/// serial part and no shared writes gets from this machine's two cores: the
/// reference for exosim's. Returns particle-steps per second (best of
/// `repeats`).
fn bare_bound_parallel(start: &VesicleParticles, threads: usize, repeats: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let (mut xs, mut ys, mut zs) = (start.x().to_vec(), start.y().to_vec(), start.z().to_vec());
        let t0 = Instant::now();
        pool.install(|| {
            for step in 0..STEPS {
                (
                    xs.par_chunks_mut(CHUNK),
                    ys.par_chunks_mut(CHUNK),
                    zs.par_chunks_mut(CHUNK),
                )
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(k, (xs, ys, zs))| bare_chunk(step, k, xs, ys, zs));
            }
        });
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box((&xs, &ys, &zs));
    }
    N as f64 * STEPS as f64 / best
}

/// Smoldyn's result, as printed by `transport_smoldyn.py`.
struct Smoldyn {
    version: String,
    rate: f64,
    seconds: f64,
    load_seconds: f64,
    absorbed: f64,
}

fn run_smoldyn(cells: &CellBodies, start: &VesicleParticles) -> Result<Smoldyn, String> {
    let benches = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches");
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    let config = dir.path().join("transport.smoldyn.txt");
    std::fs::copy(benches.join("transport.smoldyn.txt"), &config)
        .map_err(|e| format!("cannot copy the Smoldyn file: {e}"))?;
    let write = |name: &str, lines: &mut dyn Iterator<Item = String>| -> Result<(), String> {
        let f = std::fs::File::create(dir.path().join(name)).map_err(|e| e.to_string())?;
        let mut w = std::io::BufWriter::new(f);
        for line in lines {
            w.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())
    };
    let um = |v: f64| v / UM;
    write(
        "transport_cells.txt",
        &mut cells.spheres.iter().map(|s| {
            format!(
                "panel sph {:.9} {:.9} {:.9} {:.9} 10 10\n",
                um(s.centre[0]),
                um(s.centre[1]),
                um(s.centre[2]),
                um(s.radius)
            )
        }),
    )?;
    write(
        "transport_vesicles.txt",
        &mut (0..start.len()).map(|i| {
            let p = start.position(i);
            format!(
                "mol 1 vesicle {:.9} {:.9} {:.9}\n",
                um(p[0]),
                um(p[1]),
                um(p[2])
            )
        }),
    )?;
    let output = Command::new("python3")
        .arg(benches.join("transport_smoldyn.py"))
        .arg(&config)
        .arg(STEPS.to_string())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .unwrap_or("the script failed")
            .to_string());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or("the script printed no result")?;
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let num = |k: &str| v[k].as_f64().ok_or(format!("no `{k}` in {line}"));
    Ok(Smoldyn {
        version: v["version"].as_str().unwrap_or("?").to_string(),
        rate: num("particle_steps_per_second")?,
        seconds: num("seconds")?,
        load_seconds: num("load_seconds")?,
        absorbed: num("initial")? - num("remaining")?,
    })
}

fn bits(p: &VesicleParticles) -> Vec<u32> {
    p.x()
        .iter()
        .chain(p.y())
        .chain(p.z())
        .map(|v| v.to_bits())
        .collect()
}

/// [`PAIRS`] rounds back to back: exosim on 1 and 2 threads and the bare
/// loops, each round sharing its moment of the machine; prints the
/// medians of the ratios and speed-ups with their ranges.
fn back_to_back(
    random_order: &VesicleParticles,
    sorted: &VesicleParticles,
    cells: &CellBodies,
    grid: &CellGrid,
    domain: &Domain,
) {
    let steps = N as f64 * STEPS as f64;
    let rate = |r: &Run| steps / r.seconds;
    let (mut random_ratios, mut sorted_ratios) = (Vec::new(), Vec::new());
    let (mut speedups, mut machine_speedups) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        let r = run_exosim(1, random_order, cells, grid, domain, 1);
        let r2 = run_exosim(2, random_order, cells, grid, domain, 1);
        speedups.push(r.seconds / r2.seconds);
        machine_speedups.push(
            bare_bound_parallel(random_order, 2, 1) / bare_bound_parallel(random_order, 1, 1),
        );
        let s = run_exosim(1, sorted, cells, grid, domain, 1);
        let b = bare_bound_blocks(random_order, 1).max(bare_bound(
            random_order,
            |entity| chunk_rng(SEED, 3, entity),
            1,
        ));
        random_ratios.push(rate(&r) / b);
        sorted_ratios.push(rate(&s) / b);
    }
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (ra, rm, rb) = spread(&mut random_ratios);
    let (sa, sm, sb) = spread(&mut sorted_ratios);
    println!(
        "  exosim / bare bound, 1 thread, median of {PAIRS} back-to-back runs (exosim random order, exosim \
         compacted, the two bare loops): {rm:.2} random order (range {ra:.2}–{rb:.2}), {sm:.2} compacted \
         (range {sa:.2}–{sb:.2}) (target: at least 0.5)"
    );
    let (ea, em, eb) = spread(&mut speedups);
    let (ma, mm, mb) = spread(&mut machine_speedups);
    println!(
        "  2-thread speed-up, median of the same {PAIRS} rounds (1 then 2 threads back to back): exosim {em:.2}x \
         (range {ea:.2}–{eb:.2}x; random order; target: at least 1.8x on 2 free cores); the machine's own \
         (the bare bound's chunks on a rayon pool, one fork-join per step, nothing shared) {mm:.2}x \
         (range {ma:.2}–{mb:.2}x)"
    );
}

/// Smoldyn on the same problem, or a loud line saying why it did not run.
fn print_smoldyn(
    cells: &CellBodies,
    random_order: &VesicleParticles,
    r1: &Run,
    theory: f64,
    best1: f64,
) {
    let rel = |x: f64| x / theory - 1.0;
    let rate_r1 = N as f64 * STEPS as f64 / r1.seconds;
    match run_smoldyn(cells, random_order) {
        Ok(s) => {
            println!(
                "  Smoldyn {} (boxsize 10, 1 thread): {:>6.1} M particle-steps/s ({:.2} s; loading took {:.1} s, not counted)",
                s.version,
                s.rate / 1e6,
                s.seconds,
                s.load_seconds
            );
            println!(
                "  Smoldyn uptake by T = 1 s: {:.0} ({:+.2} % of Smoluchowski); exosim / Smoldyn uptake: {:.4}",
                s.absorbed,
                100.0 * rel(s.absorbed),
                r1.taken / s.absorbed
            );
            println!(
                "  ratio: exosim (1 thread) is {:.1}x Smoldyn in particle-steps/s ({:.1}x random order) (target: at least 10x)",
                best1 / s.rate,
                rate_r1 / s.rate
            );
        }
        Err(e) => {
            println!("  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            println!("  !!! SMOLDYN COMPARISON NOT RUN: {e}");
            println!("  !!! install it with `pip install smoldyn==2.74` (Python 3.11)");
            println!("  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        }
    }
}

/// The four timed runs of exosim and the three bare loops, as rates.
fn print_runs(r1: &Run, r2: &Run, s1: &Run, s2: &Run, (blocks, pcg, chacha): (f64, f64, f64)) {
    let rate = |r: &Run| N as f64 * STEPS as f64 / r.seconds;
    println!(
        "  exosim, random memory order, 1 thread : {:>6.1} M particle-steps/s ({:.2} s)",
        rate(r1) / 1e6,
        r1.seconds
    );
    println!(
        "  exosim, random memory order, 2 threads: {:>6.1} M particle-steps/s ({:.2} s; speed-up {:.2}x; bit-identical)",
        rate(r2) / 1e6,
        r2.seconds,
        r1.seconds / r2.seconds
    );
    println!(
        "  exosim, after compact(),     1 thread : {:>6.1} M particle-steps/s ({:.2} s)",
        rate(s1) / 1e6,
        s1.seconds
    );
    println!(
        "  exosim, after compact(),     2 threads: {:>6.1} M particle-steps/s ({:.2} s; speed-up {:.2}x; bit-identical)",
        rate(s2) / 1e6,
        s2.seconds,
        s1.seconds / s2.seconds
    );
    println!(
        "  bare bound (3 normals + update + reflective walls, no cells, 1 thread): \
         {:>6.1} M/s with exosim's normals (f32 ziggurat in blocks, PCG-64); \
         {:.1} M/s with rand_distr's f64 normals on PCG-64, {:.1} M/s on ChaCha8",
        blocks / 1e6,
        pcg / 1e6,
        chacha / 1e6
    );
}

fn main() {
    let domain = domain();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "tissue transport benchmark: {N} vesicles, D = 4 µm²/s, 200-µm reflective cube, \
         {CELLS} absorbing cells of radius 5 µm, Δt = {DT} s, {STEPS} steps"
    );
    println!(
        "  machine: {cpus} CPUs available, load average {} before the runs; best of {REPEATS} runs",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let (peak_state, store) = memory_run(&domain);
    let cells = place_cells();
    let t0 = Instant::now();
    let grid = CellGrid::build(&cells, &domain, BIN);
    let grid_seconds = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let grid = grid.with_distance_map(&cells);
    let map_seconds = t0.elapsed().as_secs_f64();
    let build_note = format!(
        "cell grid built in {:.1} ms, its distance map in {:.1} ms ({} threads), once for all steps",
        grid_seconds * 1e3,
        map_seconds * 1e3,
        rayon::current_num_threads()
    );
    let random_order = place_vesicles(&cells, &grid);
    let r1 = run_exosim(1, &random_order, &cells, &grid, &domain, REPEATS);
    let c_out = N as f64
        / (SIDE.powi(3) - CELLS as f64 * 4.0 / 3.0 * std::f64::consts::PI * RADIUS.powi(3));
    let theory = CELLS as f64 * smoluchowski_absorbed(D, RADIUS, c_out, STEPS as f64 * DT);

    if std::env::var("EXOSIM_BENCH_QUICK").as_deref() == Ok("2") {
        // Development mode for the speed-up: random order, 2 threads only.
        let r2 = run_exosim(2, &random_order, &cells, &grid, &domain, REPEATS);
        assert_eq!(bits(&r1.particles), bits(&r2.particles), "thread count");
        let machine = bare_bound_parallel(&random_order, 2, REPEATS)
            / bare_bound_parallel(&random_order, 1, REPEATS);
        println!(
            "  2-thread speed-up: exosim {:.2}x ({:.2} s, {:.2} CPU s, against {:.2} s); \
             the machine's own (the bare bound on a pool) {machine:.2}x",
            r1.seconds / r2.seconds,
            r2.seconds,
            r2.cpu_seconds,
            r1.seconds
        );
        return;
    }
    if std::env::var_os("EXOSIM_BENCH_QUICK").is_some() {
        // Development mode: the one-thread runs and the bare bound only.
        let mut sorted = random_order.clone();
        sorted.compact();
        let s1 = run_exosim(1, &sorted, &cells, &grid, &domain, REPEATS);
        let blocks = bare_bound_blocks(&random_order, REPEATS);
        let steps = N as f64 * STEPS as f64;
        for (name, r) in [("random order", &r1), ("compacted", &s1)] {
            println!(
                "  exosim, {name}, 1 thread: {:.1} M particle-steps/s, {:.1} M per CPU second; \
                 {:.2} of the bare bound ({:.1} M/s); uptake {}",
                steps / r.seconds / 1e6,
                steps / r.cpu_seconds / 1e6,
                steps / r.seconds / blocks,
                blocks / 1e6,
                r.taken
            );
        }
        println!("  {build_note}");
        return;
    }
    let r2 = run_exosim(2, &random_order, &cells, &grid, &domain, REPEATS);
    assert_eq!(bits(&r1.particles), bits(&r2.particles), "thread count");
    assert_eq!(r1.particles.alive, r2.particles.alive, "thread count");
    assert_eq!(r1.taken.to_bits(), r2.taken.to_bits(), "thread count");
    let mut sorted = random_order.clone();
    sorted.compact();
    let s1 = run_exosim(1, &sorted, &cells, &grid, &domain, REPEATS);
    let s2 = run_exosim(2, &sorted, &cells, &grid, &domain, REPEATS);
    assert_eq!(bits(&s1.particles), bits(&s2.particles), "thread count");
    let steps = N as f64 * STEPS as f64;
    let rate = |r: &Run| steps / r.seconds;
    let blocks = bare_bound_blocks(&random_order, REPEATS);
    let pcg = bare_bound(&random_order, |entity| chunk_rng(SEED, 3, entity), REPEATS);
    let chacha = bare_bound(
        &random_order,
        |entity| exosim::random::stream(SEED, 3, entity),
        REPEATS,
    );

    print_runs(&r1, &r2, &s1, &s2, (blocks, pcg, chacha));
    let bound = blocks.max(pcg);
    let best1 = rate(&r1).max(rate(&s1));
    println!(
        "  exosim / bare bound (the faster loop), 1 thread, from the runs above: {:.2} random order, {:.2} compacted",
        rate(&r1) / bound,
        rate(&s1) / bound
    );
    back_to_back(&random_order, &sorted, &cells, &grid, &domain);
    println!(
        "  2-thread speed-up, from the runs above: {:.2}x random order, {:.2}x compacted",
        r1.seconds / r2.seconds,
        s1.seconds / s2.seconds
    );
    println!(
        "  memory: particle store {:.1} B/particle; cell grid and its distance map {:.2} B/particle ({} bins of {:.1} µm); \
         peak heap of building and stepping it all (store, grid, cells, step buffers) {:.1} B/particle (target: at most 32)",
        store as f64 / N as f64,
        grid.heap_bytes() as f64 / N as f64,
        (SIDE / grid.bin()).ceil().powi(3),
        grid.bin() / UM,
        peak_state as f64 / N as f64
    );
    println!("  {build_note}");
    let rel = |x: f64| x / theory - 1.0;
    println!(
        "  uptake by T = 1 s: Smoluchowski (isolated cells) {theory:.0}; exosim {:.0} ({:+.2} %, {} events); \
         Poisson error {:.2} %",
        r1.taken,
        100.0 * rel(r1.taken),
        r1.events,
        100.0 / theory.sqrt()
    );

    print_smoldyn(&cells, &random_order, &r1, theory, best1);
}
