//! The tissue inside a body arm: the two engines advance in lockstep and
//! exchange vesicles as explicit fluxes every exchange interval `Δ`.
//!
//! At each exchange time `t_k = k·Δ` (and at the end), after both engines
//! have reached it:
//! 1. the weight of each linked tissue class drained since the last exchange
//!    enters the body as a bolus into lymph or venous blood;
//! 2. for the coming interval, the expected number of vesicles of each linked
//!    body class crossing the vascular faces is `λ = P · A · C(t_k) · Δ`
//!    (permeability × face area × blood concentration, blood amount over
//!    blood volume); a Poisson number `n` of particles of mean `λ / w`
//!    (`w` the tissue class's particle weight) is drawn from the replicate's
//!    own stream, `n · w` vesicles are removed from the blood states (in
//!    proportion to what each holds) and `n` particles appear at uniformly
//!    random points of the vascular faces.
//!
//! Vesicles are conserved across both engines: at every exchange, for each
//! linked pair, everything in the body class's states plus the tissue
//! class's free, taken-up, degraded and absorbed vesicles equals what was
//! dosed and released in the body plus what the tissue's cells released and
//! the study added, exactly for the tissue and to the ODE tolerance for the
//! body ([`ExchangeRecord::balance_error`]).
//!
//! Each tissue replicate runs its own coupled copy of the body arm (the body
//! then sees that replicate's drainage), and so in every arm that holds the
//! tissue; a run is deterministic and draws only from streams keyed by its
//! replicate's seed, so results do not depend on the number of threads.

use crate::body::model::{Arm, Plan, Source, SourceSite};
use crate::body::network::{SolveError, Stepper};
use crate::body::pbpk::{self, ClassStates};
use crate::body::{self, ArmCourse};
use crate::random::counts::poisson;
use crate::random::stream;
use crate::tissue::engine::{TissueError, TissueRun};
use crate::tissue::model::{Coupling, DrainTo, TissueModel, Variant};
use crate::tissue::observe::Recorder;

const COUPLE_DOMAIN: u64 = u64::from_be_bytes(*b"tiscoupl");

/// What happened at one exchange, per linked class pair.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExchangeRecord {
    /// Time, s.
    pub time: f64,
    /// Vesicles handed to the body (drained since the last exchange).
    pub drained: Vec<f64>,
    /// Vesicles that left blood into the tissue for the coming interval.
    pub arrived: Vec<f64>,
    /// Expected arrivals `P · A · C · Δ` before the draw.
    pub expected: Vec<f64>,
    /// Blood concentration of the body class before the exchange, 1/m³.
    pub blood_concentration: Vec<f64>,
    /// Largest relative error of the cross-engine balance after the exchange.
    pub balance_error: f64,
}

/// The body side of one coupled replicate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoupledBody {
    /// The arm as this replicate's body saw it.
    pub course: ArmCourse,
    /// Every exchange, in time order.
    pub exchanges: Vec<ExchangeRecord>,
}

impl CoupledBody {
    /// Largest cross-engine balance error over the exchanges.
    pub fn balance_error(&self) -> f64 {
        self.exchanges
            .iter()
            .map(|e| e.balance_error)
            .fold(0.0, f64::max)
    }

    /// Vesicles drained in and extravasated for body class `class` by `t`,
    /// summed over the exchanges up to and including `t`.
    pub fn exchanged_by(&self, coupling: &Coupling, class: usize, t: f64) -> (f64, f64) {
        exchanged_by(&self.exchanges, coupling, class, t)
    }
}

fn exchanged_by(
    exchanges: &[ExchangeRecord],
    coupling: &Coupling,
    class: usize,
    t: f64,
) -> (f64, f64) {
    let Some(j) = coupling.links.iter().position(|l| l.body == class) else {
        return (0.0, 0.0);
    };
    exchanges
        .iter()
        .take_while(|e| e.time <= t)
        .fold((0.0, 0.0), |(d, a), e| (d + e.drained[j], a + e.arrived[j]))
}

/// The arm with every linked body class present: a class that only ever
/// comes from the tissue gets its states through a source of rate zero.
pub fn arm_with_links(arm: &Arm, coupling: &Coupling) -> Arm {
    let mut arm = arm.clone();
    let present = arm.classes();
    for l in &coupling.links {
        if !present.contains(&l.body) {
            arm.sources.push(Source {
                class: l.body,
                rate: 0.0,
                start: 0.0,
                end: 0.0,
                site: SourceSite::Blood,
            });
        }
    }
    arm
}

/// Blood states of a class: venous, arterial and every vascular bed.
fn blood_states(cs: &ClassStates) -> Vec<usize> {
    let mut v = vec![cs.venous, cs.arterial];
    v.extend(&cs.vascular);
    v
}

/// The largest relative error over linked pairs of the balance across both
/// engines at `t`: everything in the body class's states (`everywhere[j]`
/// of `y`) and the tissue class's free, taken-up, degraded and absorbed
/// vesicles against what was dosed and released in the body and released
/// or added in the tissue.
fn cross_engine_error(
    coupling: &Coupling,
    arm: &Arm,
    tissue: &TissueRun,
    y: &[f64],
    everywhere: &[Vec<usize>],
    t: f64,
) -> f64 {
    let free = tissue.free();
    let mut worst: f64 = 0.0;
    for (j, l) in coupling.links.iter().enumerate() {
        let k = &tissue.classes[l.tissue];
        let in_body: f64 = everywhere[j].iter().map(|&i| y[i]).sum();
        let in_tissue = free[l.tissue] + k.taken_up + k.degraded + k.absorbed;
        let (dosed, released) = arm.input_by(l.body, t);
        let entered = dosed + released + k.released + k.added;
        let error = if entered > 0.0 {
            (in_body + in_tissue - entered).abs() / entered
        } else {
            (in_body + in_tissue).abs()
        };
        worst = worst.max(error);
    }
    worst
}

/// Runs one replicate of one variant of `model` inside body arm `arm` (an
/// index into the study's arms; `model` is the tissue as that arm's copies
/// run it, [`Coupling::model_in_arm`]). `progress` hears the tissue's share
/// done as it goes, so that a hook that unwinds (Python's Ctrl-C) stops the
/// replicate there rather than at its end.
#[allow(clippy::too_many_arguments)]
pub fn run_coupled(
    plan: &Plan,
    model: &TissueModel,
    coupling: &Coupling,
    arm: usize,
    variant: &Variant,
    seed: u64,
    snapshots: bool,
    progress: &dyn Fn(f64),
) -> Result<(Recorder, CoupledBody), TissueError> {
    let study_arm = &plan.arms[arm];
    let arm = arm_with_links(study_arm, coupling);
    let built = pbpk::build(plan, &arm);
    let tol = body::tolerances(plan, &arm, &built);
    let mut stepper = Stepper::new(
        &built.network,
        &built.events,
        plan.output_times,
        plan.duration,
        &tol,
    );
    let linked: Vec<&ClassStates> = coupling
        .links
        .iter()
        .map(|l| {
            built
                .classes
                .iter()
                .find(|cs| cs.class == l.body)
                .expect("arm_with_links gives every linked class states")
        })
        .collect();
    let blood: Vec<Vec<usize>> = linked.iter().map(|cs| blood_states(cs)).collect();
    // Every state of a linked class, what a drug withheld of its sources
    // included: the nominal release is what entered.
    let everywhere: Vec<Vec<usize>> = linked
        .iter()
        .map(|cs| {
            let mut all = cs.all();
            all.extend(
                built
                    .inhibited
                    .iter()
                    .filter(|h| h.class == cs.class)
                    .map(|h| h.withheld),
            );
            all
        })
        .collect();
    let entry: Vec<usize> = linked
        .iter()
        .map(|cs| match coupling.drain_to {
            DrainTo::Lymph => cs.lymph,
            DrainTo::Blood => cs.venous,
        })
        .collect();
    let area = coupling.vascular_area(&model.domain);
    let blood_volume = arm.body.blood_volume;
    let dt = model.dt;
    let steps = (model.duration / dt).round() as u64;
    let n = coupling.links.len();
    let mut handed = vec![0.0; n];
    let mut exchanges: Vec<ExchangeRecord> = Vec::new();
    let run = TissueRun::new(model, variant, seed);
    let fail = |source: SolveError| TissueError::Exchange {
        partner: format!("coupled body arm `{}`", study_arm.name),
        message: source.to_string(),
    };
    let record = run.run_exchanging(
        variant,
        snapshots,
        progress,
        coupling.interval_steps,
        |tissue| {
            let step = (tissue.time() / dt).round() as u64;
            let t = tissue.time().min(plan.duration);
            stepper.advance_to(t, &mut |_| {}).map_err(fail)?;
            let next = (step + coupling.interval_steps).min(steps);
            let span = ((next - step) as f64 * dt).min(plan.duration - t).max(0.0);
            let mut rng = stream(seed, COUPLE_DOMAIN, exchanges.len() as u64);
            let mut rec = ExchangeRecord {
                time: t,
                drained: vec![0.0; n],
                arrived: vec![0.0; n],
                expected: vec![0.0; n],
                blood_concentration: vec![0.0; n],
                balance_error: 0.0,
            };
            for (j, l) in coupling.links.iter().enumerate() {
                // Drained since the last exchange, into lymph or blood.
                let drained = tissue.classes[l.tissue].drained - handed[j];
                handed[j] += drained;
                if drained > 0.0 {
                    stepper.add(entry[j], drained);
                }
                rec.drained[j] = drained;
                // Blood vesicles crossing the vascular faces until the next exchange.
                let y = stepper.state();
                let in_blood: f64 = blood[j].iter().map(|&i| y[i].max(0.0)).sum();
                let c = in_blood / blood_volume;
                let expected = coupling.permeability * area * c * span;
                let w = model.vesicles[l.tissue].weight;
                let drawn = poisson(&mut rng, expected / w).min((in_blood / w).floor());
                let moved = drawn * w;
                if moved > 0.0 {
                    let shares: Vec<(usize, f64)> = blood[j]
                        .iter()
                        .map(|&i| (i, moved * y[i].max(0.0) / in_blood))
                        .collect();
                    for (i, amount) in shares {
                        stepper.add(i, -amount);
                    }
                    tissue.arrive(l.tissue, drawn as u64, &coupling.vascular_faces, &mut rng);
                }
                rec.arrived[j] = moved;
                rec.expected[j] = expected;
                rec.blood_concentration[j] = c;
            }
            rec.balance_error =
                cross_engine_error(coupling, &arm, tissue, stepper.state(), &everywhere, t);
            exchanges.push(rec);
            Ok(())
        },
    )?;
    stepper
        .advance_to(plan.duration, &mut |_| {})
        .map_err(fail)?;
    let traj = stepper.finish();
    let course = body::observe(&arm, &built, traj, |class, t| {
        exchanged_by(&exchanges, coupling, class, t)
    });
    let course = ArmCourse {
        arm: study_arm.name.clone(),
        ..course
    };
    Ok((record, CoupledBody { course, exchanges }))
}
