//! What a resolved tissue will ask of the machine, estimated before it runs:
//! particles released in one step, particles added at once, the memory of
//! the snapshots and the work of the whole run. A study that would need
//! more than a limit below is refused at validation, with the estimate, so
//! that it neither aborts on memory nor runs for days unannounced.

use super::check::{Check, Res};
use super::error::KeyPath;
use super::model::LONG_RUN_S;
use crate::tissue::model::{Placement, TissueModel};

/// Most particle-steps (particles × transport steps, summed over variants
/// and replicates) of a run: about a day on one thread at the measured 60 M
/// particle-steps/s (`docs/tissue.md`, speed).
pub const MAX_PARTICLE_STEPS: f64 = 5e12;
/// Most memory the snapshots kept for writing may take, bytes.
pub const MAX_SNAPSHOT_BYTES: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;
/// Bytes a particle takes in a snapshot (class, position, weight), before
/// its cargo (4 bytes a molecule).
const SNAPSHOT_BYTES_PER_PARTICLE: f64 = 4.0 + 24.0 + 8.0;
/// Bytes a particle's cargo takes in a snapshot, per molecule of the study.
const SNAPSHOT_BYTES_PER_COPY_COUNT: f64 = 4.0;
/// Bytes a cell takes in a snapshot, before its state variables.
const SNAPSHOT_BYTES_PER_CELL: f64 = 4.0 + 24.0 + 8.0;
/// Measured transport speed, particle-steps per second on one thread.
const PARTICLE_STEPS_PER_S: f64 = 6e7;

/// Cells of each type placed at the start.
fn placed_cells(model: &TissueModel) -> Vec<f64> {
    let mut n = vec![0.0; model.cell_types.len()];
    for p in &model.placements {
        match p {
            Placement::Random {
                cell_type, count, ..
            }
            | Placement::Spheroid {
                cell_type, count, ..
            } => n[*cell_type] += *count as f64,
            Placement::Monolayer {
                cell_type,
                lower,
                upper,
                ..
            } => {
                let pitch = 2.0 * model.cell_types[*cell_type].radius;
                n[*cell_type] += ((upper[0] - lower[0]) / pitch).floor().max(1.0)
                    * ((upper[1] - lower[1]) / pitch).floor().max(1.0);
            }
            Placement::Listed { cells } => {
                for (t, _) in cells {
                    n[*t] += 1.0;
                }
            }
        }
    }
    n
}

/// A duration in words, for the estimates.
pub(super) fn duration_words(s: f64) -> String {
    if s < 2.0 * 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86_400.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86_400.0)
    }
}

/// Refuses a tissue at `path` whose run would exceed a limit of this module
/// or `max_particles` in one step.
pub fn check_work(c: &Check, path: &KeyPath, model: &TissueModel) -> Res<()> {
    let max = model.max_particles as f64;
    let cells = placed_cells(model);
    // Particles the placed cells release in one step at their base rates.
    let mut per_step = 0.0;
    for (t, ct) in model.cell_types.iter().enumerate() {
        for (j, s) in ct.secretion.iter().enumerate() {
            let n = cells[t] * s.rate * model.dt / model.vesicles[s.class].weight;
            if n > max {
                return c.err(
                    &path
                        .key("cell_types")
                        .index(t)
                        .key("secretion")
                        .index(j)
                        .key("rate"),
                    format!(
                        "the {} placed `{}` cells release about {n:.3e} particles in one step, more than max_particles = {}",
                        cells[t], ct.name, model.max_particles
                    ),
                    Some("lower the rate, or raise the class's weight (vesicles per particle)".into()),
                );
            }
            per_step += n;
        }
    }
    // Particles added at once, in the variant with the largest dose.
    let scale = model
        .variants
        .iter()
        .map(|v| v.dose_scale)
        .fold(0.0, f64::max);
    let mut added = 0.0;
    for a in &model.additions {
        let n = a.count * scale / model.vesicles[a.class].weight;
        if n > max {
            let (i, _) = model
                .variants
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.dose_scale.total_cmp(&y.1.dose_scale))
                .unwrap_or((0, &model.variants[0]));
            return c.err(
                &path.key("variants").index(i).key("dose_scale"),
                format!(
                    "at dose_scale = {scale} an addition of {} vesicles is {n:.3e} particles, more than max_particles = {}",
                    a.count, model.max_particles
                ),
                Some("lower the dose scale or the addition's count, or raise the class's weight".into()),
            );
        }
        added += n;
    }
    // The particles present at a time, bounded by what was added and
    // released without loss, and by max_particles.
    let steps = (model.duration / model.dt).ceil();
    let mean_particles = (added + 0.5 * per_step * steps).min(max);
    let runs = (model.variants.len() * model.replicates) as f64;
    let work = runs * steps * mean_particles;
    if work > MAX_PARTICLE_STEPS {
        return c.err(
            &path.key("time_step"),
            format!(
                "the run would take about {work:.2e} particle-steps ({runs} runs × {steps} steps × about {mean_particles:.2e} particles), more than {MAX_PARTICLE_STEPS:e}: about {} on one thread",
                duration_words(work / PARTICLE_STEPS_PER_S)
            ),
            Some("use fewer particles (a larger weight), fewer steps, variants or replicates".into()),
        );
    }
    let seconds = work / PARTICLE_STEPS_PER_S;
    if seconds > LONG_RUN_S {
        c.notice(
            &path.key("time_step"),
            format!(
                "the run is valid but long: about {work:.2e} particle-steps ({runs} runs × {steps} steps × about {mean_particles:.2e} particles), about {} on one thread",
                duration_words(seconds)
            ),
            Some("variants and replicates run in parallel on the cores given (--threads); fewer particles (a larger weight) or fewer steps make it shorter".into()),
        );
    }
    // Snapshots of replicate 0 of every variant are held until written.
    let divides = model.cell_types.iter().any(|t| t.division_rate > 0.0);
    let max_cells = if divides {
        model.max_cells as f64
    } else {
        cells.iter().sum::<f64>()
    };
    let states = model
        .cell_types
        .iter()
        .map(|t| t.state.len())
        .max()
        .unwrap_or(0) as f64;
    let per_particle =
        SNAPSHOT_BYTES_PER_PARTICLE + SNAPSHOT_BYTES_PER_COPY_COUNT * model.molecules.len() as f64;
    let frame = (mean_particles.max(added.min(max))) * per_particle
        + max_cells * (SNAPSHOT_BYTES_PER_CELL + 8.0 * states);
    let frames = (model.snapshot_times.len() * model.variants.len()) as f64;
    let bytes = frames * frame;
    if bytes > MAX_SNAPSHOT_BYTES {
        return c.err(
            &path.key("snapshot_times"),
            format!(
                "{frames} snapshots of up to {:.0} MB each would hold about {:.1} GB, more than {:.0} GB",
                frame / 1e6,
                bytes / 1e9,
                MAX_SNAPSHOT_BYTES / 1e9
            ),
            Some("take fewer snapshots, or lower max_particles or max_cells".into()),
        );
    }
    Ok(())
}
