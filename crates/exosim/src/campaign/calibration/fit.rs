//! Minimising −log L over a box: Nelder–Mead (argmin;
//! docs/references.md#nelder-mead-1965) from several starts spread by a
//! Latin hypercube, then profile-likelihood intervals
//! (docs/references.md#venzon-moolgavkar-1988).
//!
//! The search runs in box coordinates u ∈ [0, 1]^d, each parameter's
//! bounds mapped linearly (uniform) or on the log scale (log-uniform), so
//! that one simplex size suits every parameter and a parameter spanning
//! decades is searched on its log. Nelder–Mead needs no gradient (the
//! study's runs give none) and copes with the flat regions a saturable
//! model has; several starts guard against local minima. A point outside
//! the box is evaluated at its projection plus a quadratic penalty, which
//! keeps every cost finite (argmin's stopping test is on the spread of the
//! simplex's costs).

use std::sync::atomic::{AtomicU64, Ordering};

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use argmin_math::{ArgminAdd, ArgminMul, ArgminSub};
use serde::{Deserialize, Serialize};

/// A point of the box as argmin's Nelder–Mead needs it: argmin-math's own
/// `Vec<f64>` support comes with rand 0.9, so the three operations the
/// simplex uses are written here.
#[derive(Debug, Clone, PartialEq)]
pub struct Coords(pub Vec<f64>);

impl ArgminAdd<Coords, Coords> for Coords {
    fn add(&self, other: &Coords) -> Coords {
        Coords(self.0.iter().zip(&other.0).map(|(a, b)| a + b).collect())
    }
}

impl ArgminSub<Coords, Coords> for Coords {
    fn sub(&self, other: &Coords) -> Coords {
        Coords(self.0.iter().zip(&other.0).map(|(a, b)| a - b).collect())
    }
}

impl ArgminMul<f64, Coords> for Coords {
    fn mul(&self, k: &f64) -> Coords {
        Coords(self.0.iter().map(|a| a * k).collect())
    }
}

/// Penalty per squared unit outside the box (in box coordinates).
const OUTSIDE: f64 = 1e4;
/// A cost standing for "no density" (a failed run, a value the error
/// model cannot take): larger than any real −log L, yet finite.
pub const NO_FIT: f64 = 1e30;
/// The simplex stops when its costs' sd falls below this (in log L).
const COST_TOLERANCE: f64 = 1e-7;
/// Initial simplex edge, in box coordinates.
const SIMPLEX: f64 = 0.1;

/// The objective in box coordinates, counting its evaluations.
pub struct Objective<'a> {
    f: &'a (dyn Fn(&[f64]) -> f64 + Sync),
    evaluations: AtomicU64,
}

impl<'a> Objective<'a> {
    /// Wraps `f`, −log L at a point of the box.
    pub fn new(f: &'a (dyn Fn(&[f64]) -> f64 + Sync)) -> Objective<'a> {
        Objective {
            f,
            evaluations: AtomicU64::new(0),
        }
    }

    /// Evaluations so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// −log L at `u`: at its projection on the box plus the penalty.
    pub fn at(&self, u: &[f64]) -> f64 {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let inside: Vec<f64> = u.iter().map(|x| x.clamp(0.0, 1.0)).collect();
        let outside: f64 = u.iter().zip(&inside).map(|(a, b)| (a - b).powi(2)).sum();
        let value = (self.f)(&inside);
        let value = if value.is_finite() {
            value.min(NO_FIT)
        } else {
            NO_FIT
        };
        value + OUTSIDE * outside
    }
}

/// The objective with some coordinates held (for profiles): argmin's view.
struct Problem<'o, 'a> {
    objective: &'o Objective<'a>,
    /// Each coordinate's held value, or `None` where it is searched.
    held: &'o [Option<f64>],
}

impl Problem<'_, '_> {
    fn full(&self, free: &[f64]) -> Vec<f64> {
        let mut it = free.iter();
        self.held
            .iter()
            .map(|h| h.unwrap_or_else(|| *it.next().unwrap_or(&0.5)))
            .collect()
    }
}

impl CostFunction for Problem<'_, '_> {
    type Param = Coords;
    type Output = f64;

    fn cost(&self, p: &Coords) -> Result<f64, Error> {
        Ok(self.objective.at(&self.full(&p.0)))
    }
}

/// The best point found and its cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Box coordinates of every parameter.
    pub u: Vec<f64>,
    /// −log L there.
    pub cost: f64,
}

/// Nelder–Mead from `start` (box coordinates of the free ones), the
/// coordinates in `held` fixed, with at most `max_evaluations` runs.
pub fn local(
    objective: &Objective,
    held: &[Option<f64>],
    start: &[f64],
    max_evaluations: u64,
) -> Minimum {
    let problem = Problem { objective, held };
    if start.is_empty() {
        let u = problem.full(&[]);
        let cost = objective.at(&u);
        return Minimum { u, cost };
    }
    let d = start.len();
    let mut simplex = vec![Coords(start.to_vec())];
    for j in 0..d {
        let mut v = start.to_vec();
        // Step inwards, so that every vertex starts inside the box.
        v[j] += if v[j] + SIMPLEX <= 1.0 {
            SIMPLEX
        } else {
            -SIMPLEX
        };
        simplex.push(Coords(v));
    }
    // Each iteration costs one to d + 2 runs; the cap on iterations bounds
    // the runs near `max_evaluations`.
    let iterations = (max_evaluations / 2).max(1);
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(COST_TOLERANCE)
        .expect("a positive tolerance");
    let result = Executor::new(problem, solver)
        .configure(|s| s.max_iters(iterations))
        .run();
    let problem = Problem { objective, held };
    match result {
        Ok(r) => {
            let state = r.state();
            let free = state
                .get_best_param()
                .map_or(start.to_vec(), |p| p.0.clone());
            let u: Vec<f64> = problem
                .full(&free)
                .iter()
                .map(|x| x.clamp(0.0, 1.0))
                .collect();
            let cost = objective.at(&u);
            Minimum { u, cost }
        }
        Err(_) => {
            let u = problem.full(start);
            let cost = objective.at(&u);
            Minimum { u, cost }
        }
    }
}

/// One start of the multi-start search, as saved for a resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// Which start, from 0.
    pub index: u64,
    /// Where it began (box coordinates).
    pub from: Vec<f64>,
    /// Where it ended (box coordinates).
    pub to: Vec<f64>,
    /// −log L there.
    pub cost: f64,
    /// Runs it took.
    pub evaluations: u64,
}

/// Runs one start from `from` and records it.
pub fn run_start(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    index: u64,
    from: &[f64],
    max_evaluations: u64,
) -> Start {
    let objective = Objective::new(f);
    let held = vec![None; from.len()];
    let m = local(&objective, &held, from, max_evaluations);
    Start {
        index,
        from: from.to_vec(),
        to: m.u,
        cost: m.cost,
        evaluations: objective.evaluations(),
    }
}

/// The best of the starts: lowest cost, then lowest index.
pub fn best(starts: &[Start]) -> Option<&Start> {
    starts
        .iter()
        .min_by(|a, b| a.cost.total_cmp(&b.cost).then(a.index.cmp(&b.index)))
}

/// One end of a profile-likelihood interval, in box coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// Where the profile crosses the cut, or the bound it never crosses.
    pub u: f64,
    /// Whether the profile stays under the cut up to the bound: the data
    /// do not bound the parameter on this side.
    pub open: bool,
}

/// The interval of coordinate `j` from the profile likelihood: where
/// min over the others of −log L rises `cut` above `best` (χ²₁ quantile
/// over 2: 1.92 for 95 %), searched on each side of the optimum by
/// regula falsi (Illinois), the others re-optimised at each step from the
/// previous step's optimum.
pub fn profile(
    objective: &Objective,
    best: &Minimum,
    j: usize,
    cut: f64,
    max_evaluations: u64,
) -> (End, End) {
    let side = |edge: f64| half_profile(objective, best, j, cut, edge, max_evaluations);
    (side(0.0), side(1.0))
}

/// The profile's excess over `best.cost + cut` at u_j = t, and the
/// others' optimum there.
fn excess(
    objective: &Objective,
    best: &Minimum,
    j: usize,
    t: f64,
    from: &[f64],
    cut: f64,
    max_evaluations: u64,
) -> (f64, Vec<f64>) {
    let mut held = vec![None; best.u.len()];
    held[j] = Some(t);
    let m = local(objective, &held, from, max_evaluations);
    let free: Vec<f64> =
        m.u.iter()
            .enumerate()
            .filter(|&(k, _)| k != j)
            .map(|(_, &x)| x)
            .collect();
    (m.cost - best.cost - cut, free)
}

fn half_profile(
    objective: &Objective,
    best: &Minimum,
    j: usize,
    cut: f64,
    edge: f64,
    max_evaluations: u64,
) -> End {
    let others: Vec<f64> = (0..best.u.len())
        .filter(|&k| k != j)
        .map(|k| best.u[k])
        .collect();
    let (g_edge, _) = excess(objective, best, j, edge, &others, cut, max_evaluations);
    if g_edge <= 0.0 {
        return End {
            u: edge,
            open: true,
        };
    }
    let (mut a, mut ga) = (best.u[j], -cut);
    let (mut b, mut gb) = (edge, g_edge);
    let mut from = others;
    let mut last_side = 0;
    for _ in 0..40 {
        let t = if gb != ga {
            b - gb * (b - a) / (gb - ga)
        } else {
            0.5 * (a + b)
        };
        let (g, free) = excess(objective, best, j, t, &from, cut, max_evaluations);
        from = free;
        if g.abs() < 1e-4 || (b - a).abs() < 1e-7 {
            return End { u: t, open: false };
        }
        if g > 0.0 {
            (b, gb) = (t, g);
            if last_side == 1 {
                ga *= 0.5;
            }
            last_side = 1;
        } else {
            (a, ga) = (t, g);
            if last_side == -1 {
                gb *= 0.5;
            }
            last_side = -1;
        }
    }
    End {
        u: 0.5 * (a + b),
        open: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quadratic bowl: minimum at (0.3, 0.6), −log L rising as
    /// ½ Σ ((u − m)/s)², so the 95 % profile interval is m ± 1.96 s.
    fn bowl(u: &[f64]) -> f64 {
        0.5 * ((u[0] - 0.3) / 0.05).powi(2) + 0.5 * ((u[1] - 0.6) / 0.1).powi(2) + 7.0
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_bowl() {
        let s = run_start(&bowl, 0, &[0.9, 0.1], 400);
        assert!(
            (s.to[0] - 0.3).abs() < 1e-3 && (s.to[1] - 0.6).abs() < 1e-3,
            "{s:?}"
        );
        assert!((s.cost - 7.0).abs() < 1e-5);
        assert!(s.evaluations <= 400 + 4);
    }

    #[test]
    fn profile_interval_of_a_quadratic_is_m_plus_minus_1_96_s() {
        let f = |u: &[f64]| bowl(u);
        let objective = Objective::new(&f);
        let best = Minimum {
            u: vec![0.3, 0.6],
            cost: 7.0,
        };
        let (lo, hi) = profile(&objective, &best, 1, 1.920_729_4, 200);
        assert!((lo.u - (0.6 - 1.959_964 * 0.1)).abs() < 1e-3, "{lo:?}");
        assert!((hi.u - (0.6 + 1.959_964 * 0.1)).abs() < 1e-3, "{hi:?}");
        assert!(!lo.open && !hi.open);
        // A flat direction: the profile never reaches the cut.
        let flat = |u: &[f64]| 0.5 * ((u[0] - 0.5) / 0.01).powi(2);
        let objective = Objective::new(&flat);
        let best = Minimum {
            u: vec![0.5, 0.5],
            cost: 0.0,
        };
        let (lo, hi) = profile(&objective, &best, 1, 1.92, 200);
        assert!(lo.open && hi.open && lo.u == 0.0 && hi.u == 1.0);
    }
}
