//! Production in quantity: vesicles made by cells in culture, harvested
//! with the conditioned medium and isolated, counted in doses
//! (docs/production.md).
//!
//! One culture vessel ("unit") is simulated and the platform's identical
//! units multiply it. Cells grow logistically from the seeded number to the
//! platform's largest, `dN/dt = r N (1 − N/K)`, and release vesicles into
//! the medium at a constant rate per cell; in the medium they decay at a
//! first-order rate k (0 when stable) and, under perfusion, leave with the
//! medium at φ volumes per unit time into a cooled collection vessel:
//! `dP/dt = q N − (k + φ) P`. Cells and medium are integrated together by
//! the classical fourth-order Runge–Kutta method in steps of at most an
//! hour (and at most half the medium's turnover time), the integrals of N
//! and P by the same stages; the tests hold them to the closed forms within
//! 1e-7. At the end of the expansion the growth medium is discarded (its
//! vesicles with it); then every harvest collects a fraction of the
//! conditioned medium, replaced by fresh medium (or, under perfusion, the
//! collection vessel's content), and the isolation keeps a fraction of what
//! was collected. Every vesicle released is accounted for: released =
//! recovered + lost in isolation + discarded with the growth medium + decayed
//! in the medium + left in the medium.

use serde::Serialize;

#[cfg(test)]
mod tests;

/// Longest integration step, s: an hour, against a doubling of a day or
/// more.
pub const MAX_STEP: f64 = 3600.0;

/// Longest step as a share of the medium's turnover time `1/(k + φ)`, and
/// of the cells' growth time `1/r`: RK4's error in `e^{−λh}` is
/// `(λh)⁵/120`, 3e-9 at 0.05.
pub const TURNOVER_STEP: f64 = 0.05;

/// Most integration steps of one plan: 10⁷ RK4 steps take about a second.
/// Only a medium turned over in seconds (or cells doubling in seconds)
/// needs more over a run; such a plan is refused, not run for hours.
pub const MAX_STEPS: f64 = 1e7;

/// Cells of one culture unit and what they release.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Culture {
    /// Identical units run side by side (flasks, cartridges, vessels).
    pub units: f64,
    /// Cells seeded in one unit at time 0.
    pub seeded: f64,
    /// Largest number of cells one unit holds (logistic capacity).
    pub max_cells: f64,
    /// Logistic growth rate r, 1/s (ln 2 over the doubling time).
    pub growth_rate: f64,
    /// Vesicles released per cell, 1/s.
    pub release_rate: f64,
    /// Medium in one unit, m³.
    pub medium_volume: f64,
    /// First-order loss of vesicles in the medium at culture temperature,
    /// 1/s (0: stable).
    pub decay_rate: f64,
}

/// When the medium is collected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Growth before the first conditioning period, s; the growth medium is
    /// discarded at its end (0: collection starts at seeding).
    pub expansion: f64,
    /// Time between harvests, s.
    pub interval: f64,
    /// Harvests in one run.
    pub harvests: u32,
    /// Share of the medium collected at each harvest (replaced by fresh
    /// medium), 0–1; unused under perfusion.
    pub fraction: f64,
    /// Perfusion: medium volumes per second leaving the unit continuously
    /// into a cooled collection vessel, emptied at each harvest (0: batch
    /// harvests).
    pub perfusion: f64,
}

/// How the collected medium is purified.
#[derive(Debug, Clone, PartialEq)]
pub struct Isolation {
    /// Method name (`ultracentrifugation`, `sec`, `tff`, …).
    pub method: String,
    /// Share of the collected vesicles that the method keeps, 0–1.
    pub recovery: f64,
    /// Particles per µg of protein in the product, when known.
    pub purity: Option<f64>,
}

/// What a study needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Vesicles one subject receives over the study.
    pub dose: f64,
    /// Vesicles every subject together receives.
    pub need: f64,
}

/// A production plan, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionModel {
    /// Cells that make the vesicles.
    pub producer: String,
    /// Culture platform.
    pub platform: String,
    /// Cells and medium.
    pub culture: Culture,
    /// Harvests.
    pub schedule: Schedule,
    /// Purification.
    pub isolation: Isolation,
    /// Doses the plan is for, when the study gives one.
    pub demand: Option<Demand>,
}

impl ProductionModel {
    /// Length of one run (expansion and every conditioning period), s.
    pub fn run_time(&self) -> f64 {
        self.schedule.expansion + f64::from(self.schedule.harvests) * self.schedule.interval
    }

    /// Integration steps of [`simulate`]: the expansion's (no perfusion)
    /// and every harvest interval's.
    pub fn integration_steps(&self) -> f64 {
        let (c, s) = (&self.culture, &self.schedule);
        let steps = |span: f64, perfusion: f64| {
            if span > 0.0 {
                (span / longest_step(c, perfusion)).ceil().max(1.0)
            } else {
                0.0
            }
        };
        steps(s.expansion, 0.0) + f64::from(s.harvests) * steps(s.interval, s.perfusion)
    }
}

/// The longest integration step: [`MAX_STEP`], and [`TURNOVER_STEP`] of the
/// medium's turnover time and of the cells' growth time.
pub fn longest_step(c: &Culture, perfusion: f64) -> f64 {
    let fastest = (c.decay_rate + perfusion).max(c.growth_rate);
    if fastest > 0.0 {
        MAX_STEP.min(TURNOVER_STEP / fastest)
    } else {
        MAX_STEP
    }
}

/// One harvest, all units together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Harvest {
    /// Harvest number, from 1.
    pub index: u32,
    /// Time since seeding, s.
    pub time: f64,
    /// Cells in all units at the harvest.
    pub cells: f64,
    /// Conditioned medium collected, m³.
    pub volume: f64,
    /// Vesicles collected.
    pub collected: f64,
    /// Vesicles per m³ of the collected medium.
    pub concentration: f64,
    /// Vesicles kept by the isolation.
    pub recovered: f64,
}

/// Where every vesicle released went, all units together.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Ledger {
    /// Released by the cells over the run.
    pub released: f64,
    /// Kept by the isolation (the product).
    pub recovered: f64,
    /// Collected but lost in the isolation.
    pub lost_in_isolation: f64,
    /// Released into the growth medium and discarded with it.
    pub discarded: f64,
    /// Lost in the medium at culture temperature (decay).
    pub decayed: f64,
    /// Still in the medium after the last harvest.
    pub in_medium: f64,
}

impl Ledger {
    /// Collected at harvests (recovered and lost in isolation).
    pub fn collected(&self) -> f64 {
        self.recovered + self.lost_in_isolation
    }

    /// |released − (recovered + lost + discarded + decayed + in medium)| /
    /// released.
    pub fn relative_error(&self) -> f64 {
        let out = self.recovered
            + self.lost_in_isolation
            + self.discarded
            + self.decayed
            + self.in_medium;
        if self.released == 0.0 {
            out.abs()
        } else {
            (self.released - out).abs() / self.released
        }
    }
}

/// A run's harvests and accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionRun {
    /// Every harvest in order.
    pub harvests: Vec<Harvest>,
    /// The accounts at the end of the run.
    pub ledger: Ledger,
    /// Cells in all units at the end of the run.
    pub final_cells: f64,
}

impl ProductionRun {
    /// Vesicles per m³ over all the conditioned medium collected.
    pub fn mean_concentration(&self) -> f64 {
        let volume: f64 = self.harvests.iter().map(|h| h.volume).sum();
        if volume > 0.0 {
            self.ledger.collected() / volume
        } else {
            0.0
        }
    }
}

/// The logistic's closed form: cells at `t` from `n0` with capacity `k`
/// and rate `r`.
pub fn logistic(n0: f64, k: f64, r: f64, t: f64) -> f64 {
    k / (1.0 + (k / n0 - 1.0) * (-r * t).exp())
}

/// The closed form of `∫₀ᵗ N(s) ds` for the logistic from `n0`:
/// `K t + (K/r) [ln(1 + a e^{−rt}) − ln(1 + a)]`, `a = K/n0 − 1`.
pub fn logistic_integral(n0: f64, k: f64, r: f64, t: f64) -> f64 {
    let a = k / n0 - 1.0;
    k * t + k / r * ((a * (-r * t).exp()).ln_1p() - a.ln_1p())
}

/// One unit over a span of culture: cells and vesicles in the medium at
/// its end, and what the span's vesicles did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Cells at the end.
    pub cells: f64,
    /// Vesicles in the unit's medium at the end.
    pub medium: f64,
    /// Vesicles released, `q ∫ N dt`.
    pub released: f64,
    /// Vesicles carried out by perfusion, `φ ∫ P dt`.
    pub perfused: f64,
    /// Vesicles lost to decay, `k ∫ P dt`.
    pub decayed: f64,
}

/// One RK4 step of cells and medium over `h`: the new state and the
/// integrals `∫ N dt`, `∫ P dt` over the step by the same stages.
fn rk4_medium_step(n: f64, p: f64, c: &Culture, perfusion: f64, h: f64) -> [f64; 4] {
    let (k, r, q) = (c.max_cells, c.growth_rate, c.release_rate);
    let out = c.decay_rate + perfusion;
    let f = |x: f64, y: f64| (r * x * (1.0 - x / k), q * x - out * y);
    let (n1, p1) = (n, p);
    let (a1, b1) = f(n1, p1);
    let (n2, p2) = (n + 0.5 * h * a1, p + 0.5 * h * b1);
    let (a2, b2) = f(n2, p2);
    let (n3, p3) = (n + 0.5 * h * a2, p + 0.5 * h * b2);
    let (a3, b3) = f(n3, p3);
    let (n4, p4) = (n + h * a3, p + h * b3);
    let (a4, b4) = f(n4, p4);
    [
        n + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4),
        p + h / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4),
        h / 6.0 * (n1 + 2.0 * n2 + 2.0 * n3 + n4),
        h / 6.0 * (p1 + 2.0 * p2 + 2.0 * p3 + p4),
    ]
}

/// One unit cultured for `span` from `cells` and `medium` vesicles, under
/// `perfusion` (volumes per second), in equal steps of at most
/// [`longest_step`].
pub fn condition(cells: f64, medium: f64, c: &Culture, perfusion: f64, span: f64) -> Span {
    let mut at = Span {
        cells,
        medium,
        released: 0.0,
        perfused: 0.0,
        decayed: 0.0,
    };
    if span <= 0.0 {
        return at;
    }
    let steps = (span / longest_step(c, perfusion)).ceil().max(1.0);
    let h = span / steps;
    for _ in 0..steps as u64 {
        let [n, p, cell_time, medium_time] = rk4_medium_step(at.cells, at.medium, c, perfusion, h);
        at.cells = n;
        at.medium = p;
        at.released += c.release_rate * cell_time;
        at.perfused += perfusion * medium_time;
        at.decayed += c.decay_rate * medium_time;
    }
    at
}

/// Runs the plan: expansion, then every harvest and its isolation.
pub fn simulate(model: &ProductionModel) -> ProductionRun {
    let c = &model.culture;
    let s = &model.schedule;
    let units = c.units;
    // The growth medium is neither perfused into the product nor kept.
    let grown = condition(c.seeded, 0.0, c, 0.0, s.expansion);
    let mut ledger = Ledger {
        released: grown.released * units,
        discarded: grown.medium * units,
        decayed: grown.decayed * units,
        ..Ledger::default()
    };
    let mut cells = grown.cells;
    let mut medium = 0.0;
    let mut harvests = Vec::with_capacity(s.harvests as usize);
    for index in 1..=s.harvests {
        let span = condition(cells, medium, c, s.perfusion, s.interval);
        cells = span.cells;
        medium = span.medium;
        ledger.released += span.released * units;
        ledger.decayed += span.decayed * units;
        let (collected, volume) = if s.perfusion > 0.0 {
            let volume = s.perfusion * s.interval * c.medium_volume;
            (span.perfused * units, volume * units)
        } else {
            let taken = s.fraction * medium;
            medium -= taken;
            (taken * units, s.fraction * c.medium_volume * units)
        };
        let recovered = model.isolation.recovery * collected;
        ledger.recovered += recovered;
        ledger.lost_in_isolation += collected - recovered;
        harvests.push(Harvest {
            index,
            time: s.expansion + f64::from(index) * s.interval,
            cells: cells * units,
            volume,
            collected,
            concentration: collected / volume,
            recovered,
        });
    }
    ledger.in_medium = medium * units;
    ProductionRun {
        harvests,
        ledger,
        final_cells: cells * units,
    }
}

/// What a run means for a study's doses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DoseSupply {
    /// Vesicles one subject receives.
    pub dose: f64,
    /// Vesicles the whole study needs.
    pub need: f64,
    /// Whole doses one run (batch) yields.
    pub doses_per_batch: f64,
    /// Runs needed for the whole study.
    pub batches_needed: f64,
    /// Production time per dose, s (run time over doses per run).
    pub time_per_dose: f64,
    /// Time to make the whole study's need, runs one after another, s.
    pub time_for_study: f64,
    /// Protein in one dose, µg, when the purity is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protein_per_dose_ug: Option<f64>,
}

/// Doses per batch, batches and time for the study's demand.
pub fn supply(model: &ProductionModel, run: &ProductionRun) -> Option<DoseSupply> {
    let demand = model.demand?;
    let per_run = run.ledger.recovered;
    let run_time = model.run_time();
    let (batches, per_dose) = if per_run > 0.0 {
        (
            (demand.need / per_run).ceil(),
            run_time * demand.dose / per_run,
        )
    } else {
        (f64::INFINITY, f64::INFINITY)
    };
    Some(DoseSupply {
        dose: demand.dose,
        need: demand.need,
        doses_per_batch: (per_run / demand.dose).floor(),
        batches_needed: batches,
        time_per_dose: per_dose,
        time_for_study: batches * run_time,
        protein_per_dose_ug: model.isolation.purity.map(|p| demand.dose / p),
    })
}

/// The `production` object of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductionSummary {
    /// Cells that make the vesicles.
    pub producer: String,
    /// Culture platform.
    pub platform: String,
    /// Isolation method.
    pub isolation: String,
    /// Units run side by side.
    pub units: f64,
    /// Length of one run, s.
    pub run_time: f64,
    /// Harvests in one run.
    pub harvests: u32,
    /// Cells in all units at the end of the run.
    pub final_cells: f64,
    /// Conditioned medium collected over the run, mL.
    pub medium_collected_ml: f64,
    /// Vesicles per mL of the conditioned medium collected (before
    /// isolation), over the run.
    pub concentration_per_ml: f64,
    /// Vesicles collected per harvest, on average.
    pub collected_per_harvest: f64,
    /// Vesicles isolated per harvest, on average.
    pub particles_per_harvest: f64,
    /// Vesicles isolated per run (one batch).
    pub particles_per_run: f64,
    /// Where every vesicle released went.
    pub mass_balance: Ledger,
    /// Largest relative error of the mass balance.
    pub relative_error: f64,
    /// Doses, batches and time for the study's need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doses: Option<DoseSupply>,
}

/// The summary of a run of `model`.
pub fn summarise(model: &ProductionModel, run: &ProductionRun) -> ProductionSummary {
    let n = run.harvests.len().max(1) as f64;
    let volume: f64 = run.harvests.iter().map(|h| h.volume).sum();
    ProductionSummary {
        producer: model.producer.clone(),
        platform: model.platform.clone(),
        isolation: model.isolation.method.clone(),
        units: model.culture.units,
        run_time: model.run_time(),
        harvests: model.schedule.harvests,
        final_cells: run.final_cells,
        medium_collected_ml: volume * 1e6,
        concentration_per_ml: run.mean_concentration() * 1e-6,
        collected_per_harvest: run.ledger.collected() / n,
        particles_per_harvest: run.ledger.recovered / n,
        particles_per_run: run.ledger.recovered,
        mass_balance: run.ledger,
        relative_error: run.ledger.relative_error(),
        doses: supply(model, run),
    }
}
