//! Release inhibitors on the tumour's shedding: the drugs' closed-form
//! courses ([`crate::drug::Drug::release_factor`]) tabulated as a factor
//! on the tumour's input into blood, in a form the blood kinetics solve
//! exactly.
//!
//! A drug inhibits the release of live cells (the exosome route that
//! release inhibitors block); what a cell releases when it dies (apoptotic
//! bodies, or DNA) is not inhibited. With `w` the live share of a cell's
//! input into blood, `q_live / (q_live + q_death·δ)`, and drugs acting
//! independently (Bliss, as on the body's sources and in the tissue), the
//! tumour's input is multiplied by
//!
//! ```text
//! F(t) = 1 − w·(1 − Πₖ (1 − Iₖ(Cₖ(t))))
//! ```
//!
//! The blood integrators take the tumour's input as exponential within a
//! step ([`super::kinetics::exponential_integrator_step`], and its pool
//! twin), exact for exponential growth. So that they stay exact, F is
//! tabulated at knots between which it is log-linear: the doses' times
//! (where an IV bolus makes F jump: each knot holds the value from the
//! left and from the right) and points in between, added by bisection
//! until F at every piece's midpoint is within [`TABLE_TOLERANCE`] (relative)
//! of the log-linear value. The blood kinetics step at the knots, so that
//! with an exponential or tabulated burden the only error is the
//! tabulation's. Past the last knot the drug is washed out: its inhibition
//! has fallen below [`WASHED_OUT`] and F is 1.

use crate::drug::Drug;

/// Largest relative error of the log-linear table at a piece's midpoint.
pub const TABLE_TOLERANCE: f64 = 1e-6;

/// Inhibition (1 − F) below which, falling, the course ends and F is 1.
pub const WASHED_OUT: f64 = 1e-9;

/// Smallest factor tabulated: with `emax = 1` and every release live, a
/// large concentration makes F underflow to 0, where a log-linear piece
/// has no slope; 10⁻³⁰⁰ lets through nothing any assay sees.
const SMALLEST_FACTOR: f64 = 1e-300;

/// Bisections of one initial piece at most (2⁻³⁰ of its length).
const MAX_DEPTH: u32 = 30;

/// Doublings of the step looking for the washout, at most.
const MAX_DOUBLINGS: u32 = 200;

/// Knots of a table at most (24 MB): a course this fine would take the
/// blood kinetics a million steps per test. A drug absorbed in seconds
/// but dosed over years needs more; the study is refused instead.
pub const MAX_KNOTS: usize = 1_000_000;

/// A course that needs more than [`MAX_KNOTS`] knots to tabulate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableTooLarge {
    /// Knots it needs at least (before any bisection).
    pub knots: f64,
    /// Time constant of the fastest rate (s): the initial pieces' scale.
    pub time_constant: f64,
    /// Span of the doses (s): from the first to the last break.
    pub span: f64,
}

/// Drugs on the tumour's shedding: their combined factor as a table, and
/// when the tests of a tumour held at its size are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseInhibition {
    /// Names of the drugs, for outputs.
    pub drugs: Vec<String>,
    /// w: share of a cell's input into blood that the drugs inhibit (its
    /// live release).
    pub inhibited_share: f64,
    /// The drug's clock time (s) at which the detection curve's steady
    /// tests and the ROC's cases are drawn; `None`: the study has none.
    pub draw_time: Option<f64>,
    /// Knots, s, ascending.
    times: Vec<f64>,
    /// F at each knot from the right.
    after: Vec<f64>,
    /// F at each knot from the left.
    before: Vec<f64>,
}

impl ReleaseInhibition {
    /// The course of `drugs` on a tumour whose live share of its input is
    /// `inhibited_share` (0–1), with tests of a held tumour at `draw_time`;
    /// refused when the table would need more than [`MAX_KNOTS`] knots.
    pub fn new(
        drugs: &[Drug],
        inhibited_share: f64,
        draw_time: Option<f64>,
    ) -> Result<Self, TableTooLarge> {
        let factor = |t: f64| {
            let through: f64 = drugs.iter().map(|d| d.release_factor(t)).product();
            (1.0 - inhibited_share * (1.0 - through)).max(SMALLEST_FACTOR)
        };
        let breaks = dose_breaks(drugs);
        let mut table = ReleaseInhibition {
            drugs: drugs.iter().map(|d| d.name.clone()).collect(),
            inhibited_share,
            draw_time,
            times: Vec::new(),
            after: Vec::new(),
            before: Vec::new(),
        };
        let Some(&last) = breaks.last() else {
            return Ok(table);
        };
        let piece = 0.25 / fastest_rate(drugs);
        let too_large = |knots: f64| TableTooLarge {
            knots,
            time_constant: 4.0 * piece,
            span: last - breaks[0],
        };
        let initial: f64 = breaks
            .windows(2)
            .map(|w| ((w[1] - w[0]) / piece).ceil().max(1.0))
            .sum();
        if initial.is_nan() || initial > MAX_KNOTS as f64 {
            return Err(too_large(initial));
        }
        // Between doses, pieces of at most `piece`; after the last, the
        // washout's doubling steps, each one piece.
        let mut spans: Vec<(f64, f64, usize)> = breaks
            .windows(2)
            .map(|w| (w[0], w[1], ((w[1] - w[0]) / piece).ceil().max(1.0) as usize))
            .collect();
        let tail = washout(&factor, last, piece);
        spans.extend(
            std::iter::once(last)
                .chain(tail.iter().copied())
                .zip(tail.iter().copied())
                .map(|(a, b)| (a, b, 1)),
        );
        let left = |t: f64| factor(t.next_down());
        table.push(breaks[0], 1.0, factor(breaks[0]));
        for (a, b, pieces) in spans {
            let h = (b - a) / pieces as f64;
            let (mut ta, mut fa) = (a, factor(a));
            for i in 1..=pieces {
                let (tb, fb, right) = if i == pieces {
                    (b, left(b), factor(b))
                } else {
                    let t = a + h * i as f64;
                    (t, factor(t), factor(t))
                };
                table.refine(&factor, ta, fa, tb, fb, MAX_DEPTH);
                table.push(tb, fb, right);
                (ta, fa) = (tb, right);
            }
            if table.knots() > MAX_KNOTS {
                return Err(too_large(table.knots() as f64));
            }
        }
        // Washed out: exactly 1 from the last knot on.
        *table.after.last_mut().expect("knots") = 1.0;
        Ok(table)
    }

    fn push(&mut self, t: f64, before: f64, after: f64) {
        self.times.push(t);
        self.before.push(before);
        self.after.push(after);
    }

    /// Knots strictly inside (a, b), pushed in order, until the log-linear
    /// value at each piece's midpoint is within [`TABLE_TOLERANCE`].
    fn refine(&mut self, f: &impl Fn(f64) -> f64, a: f64, fa: f64, b: f64, fb: f64, depth: u32) {
        let m = 0.5 * (a + b);
        if depth == 0 || m <= a || m >= b {
            return;
        }
        let fm = f(m);
        if (fm / (fa * fb).sqrt() - 1.0).abs() <= TABLE_TOLERANCE || self.knots() > MAX_KNOTS {
            return;
        }
        self.refine(f, a, fa, m, fm, depth - 1);
        self.push(m, fm, fm);
        self.refine(f, m, fm, b, fb, depth - 1);
    }

    /// Knots of the table (s).
    pub fn knots(&self) -> usize {
        self.times.len()
    }

    /// The last knot (s): F is 1 from here on; 0 without doses.
    pub fn end(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// Knots strictly inside (`t0`, `t1`): the ends of the log-linear pieces.
    pub fn knots_within(&self, t0: f64, t1: f64) -> &[f64] {
        let lo = self.times.partition_point(|&x| x <= t0);
        let hi = self.times.partition_point(|&x| x < t1);
        &self.times[lo..hi.max(lo)]
    }

    /// F at `t` (s), from the right at a knot (after a bolus given then).
    pub fn factor(&self, t: f64) -> f64 {
        self.at(t, false)
    }

    /// F at `t` (s), from the left at a knot (before a bolus given then).
    pub fn factor_before(&self, t: f64) -> f64 {
        self.at(t, true)
    }

    fn at(&self, t: f64, from_left: bool) -> f64 {
        let n = self.times.len();
        if n == 0 || t < self.times[0] || t > self.times[n - 1] {
            return 1.0;
        }
        let i = self.times.partition_point(|&x| x <= t) - 1;
        if t == self.times[i] {
            return if from_left {
                self.before[i]
            } else {
                self.after[i]
            };
        }
        let (a, b) = (self.times[i], self.times[i + 1]);
        let (fa, fb) = (self.after[i], self.before[i + 1]);
        fa * (fb / fa).powf((t - a) / (b - a))
    }

    /// The smallest F tabulated (1 without doses).
    pub fn lowest(&self) -> f64 {
        self.after
            .iter()
            .chain(&self.before)
            .copied()
            .fold(1.0, f64::min)
    }
}

/// Where a drug's course has a kink or a jump: every administration's
/// start and every infusion's end, ascending and unique.
fn dose_breaks(drugs: &[Drug]) -> Vec<f64> {
    let mut breaks: Vec<f64> = drugs
        .iter()
        .flat_map(|d| d.doses.iter())
        .flat_map(|dose| {
            let end = match dose.route {
                crate::drug::DrugRoute::IvInfusion { duration } => duration,
                _ => 0.0,
            };
            dose.times.iter().flat_map(move |&t| [t, t + end])
        })
        .collect();
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    breaks
}

/// The largest rate of the drugs' courses (1/s): disposition exponentials
/// and absorption; the initial pieces are a quarter of its time constant.
fn fastest_rate(drugs: &[Drug]) -> f64 {
    drugs
        .iter()
        .flat_map(|d| {
            let rates = d.disposition.unit_response().into_iter().map(|(_, l)| l);
            rates.chain(d.absorption.map(|a| a.ka))
        })
        .fold(f64::MIN_POSITIVE, f64::max)
}

/// Times after `last` (the last dose's break), from `piece` on and
/// doubling, up to the first at which the inhibition has fallen below
/// [`WASHED_OUT`] and is still falling (every dose's course falls for good
/// after its peak, so a falling inhibition below the bound stays below it).
fn washout(factor: &impl Fn(f64) -> f64, last: f64, piece: f64) -> Vec<f64> {
    let mut times = Vec::new();
    let mut t = last;
    let mut inhibition = 1.0 - factor(t);
    let mut step = piece;
    for _ in 0..MAX_DOUBLINGS {
        let next = t + step;
        times.push(next);
        let i = 1.0 - factor(next);
        if i < WASHED_OUT && i <= inhibition {
            break;
        }
        (t, inhibition, step) = (next, i, 2.0 * step);
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drug::{Absorption, Disposition, DrugAction, DrugDose, DrugRoute};

    /// Oral doses every 12 h and an IV bolus between them (a jump).
    fn drug() -> Drug {
        Drug {
            name: "d".into(),
            disposition: Disposition::OneCompartment {
                clearance: 5e-3 / 3600.0,
                volume: 0.05,
            },
            absorption: Some(Absorption {
                ka: 1.0 / 3600.0,
                bioavailability: 0.88,
            }),
            doses: vec![
                DrugDose {
                    route: DrugRoute::Oral,
                    amount: 1.2e20,
                    times: (0..6).map(|i| i as f64 * 43_200.0).collect(),
                },
                DrugDose {
                    route: DrugRoute::IvBolus,
                    amount: 6e19,
                    times: vec![100_000.0],
                },
            ],
            action: DrugAction {
                emax: 0.9,
                ec50: 1.9e24,
                hill: 1.5,
            },
        }
    }

    /// The table against the closed form it tabulates, between its knots
    /// (log-linear within TABLE_TOLERANCE of the midpoints) and on both
    /// sides of the bolus, with live share w = 0.8: F = 1 − w·I(C).
    #[test]
    fn table_follows_the_closed_form_course() {
        let d = drug();
        let w = 0.8;
        let r = ReleaseInhibition::new(std::slice::from_ref(&d), w, None).expect("table");
        let exact = |t: f64| 1.0 - w * d.action.at(d.concentration(t));
        let mut worst: f64 = 0.0;
        for i in 0..20_000 {
            let t = r.end() * (i as f64 + 0.37) / 20_000.0;
            worst = worst.max((r.factor(t) / exact(t) - 1.0).abs());
        }
        assert!(worst < 4.0 * TABLE_TOLERANCE, "worst {worst}");
        let jump = 100_000.0;
        assert!((r.factor_before(jump) / exact(jump.next_down()) - 1.0).abs() < 1e-12);
        assert!((r.factor(jump) / exact(jump) - 1.0).abs() < 1e-12);
        assert!(r.factor(jump) < r.factor_before(jump));
        // Before the first dose and after the washout: nothing inhibited.
        assert_eq!(r.factor(-1.0), 1.0);
        assert_eq!(r.factor(r.end()), 1.0);
        assert!(1.0 - exact(r.end()) < WASHED_OUT);
    }
}
