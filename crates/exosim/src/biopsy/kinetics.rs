//! A marker in blood: release by the tumour, background release, and
//! first-order elimination.
//!
//! The marker is any quantity carried into blood — a vesicle population, a
//! molecule carried by vesicles, or an analyte in arbitrary units (AU). Its
//! amount M in plasma obeys
//!
//! ```text
//! dM/dt = f · (q_live · N(t) + q_death · δ · N(t)) + B − k · M
//! ```
//!
//! with N(t) the tumour's cells (all counted as live: dead cells leave the
//! tumour at once, which is what the death term δ·N(t) counts), q_live the
//! release per live cell per second, q_death the release per dying cell,
//! δ the death rate, f the fraction reaching blood, B the background
//! release from all other tissues (amount/s) and k the elimination rate
//! constant (ln 2 / half-life). The concentration is C = M / V with V the
//! plasma volume. Everything is SI: s, 1/s, m³, amounts per m³.
//!
//! Closed forms are given for a constant source ([`steady_state`]) and for an
//! exponentially growing one ([`ExponentialSource`]); any growth law is
//! advanced by [`exponential_integrator_step`], which treats the source as
//! exponential within each step.

use super::blood_modes::{BloodModes, C64, Mode, pool_hold, pool_within};
use super::burden::TabulatedBurden;
use super::growth::{GrowthLaw, Lineage, LnCells, ParameterError, check};
use super::release::ReleaseInhibition;

/// Release of the marker by tumour cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shedding {
    /// q_live: marker released per live cell per second (amount/(cell·s)).
    /// Breast cancer cell lines release ~60–65 exosomes/cell/h (Chiu 2016,
    /// docs/references.md#chiu-2016).
    pub per_live_cell: f64,
    /// q_death: marker released by one cell when it dies (amount/cell).
    pub per_dying_cell: f64,
    /// δ: death rate of tumour cells (1/s).
    pub death_rate: f64,
    /// f: fraction of the released marker that reaches blood (0–1). Not
    /// found as a number in the literature: a free parameter.
    pub fraction_to_blood: f64,
}

impl Shedding {
    /// Marker entering blood per tumour cell per second: f (q_live + q_death δ).
    pub fn rate_per_cell(&self) -> f64 {
        self.fraction_to_blood * (self.per_live_cell + self.per_dying_cell * self.death_rate)
    }

    /// Checks that every rate is finite and ≥ 0 and the fraction within [0, 1].
    pub fn validate(&self) -> Result<(), ParameterError> {
        let nonneg = |x: f64| x.is_finite() && x >= 0.0;
        check(
            nonneg(self.per_live_cell),
            "shedding.per_live_cell",
            self.per_live_cell,
            "a finite rate ≥ 0",
        )?;
        check(
            nonneg(self.per_dying_cell),
            "shedding.per_dying_cell",
            self.per_dying_cell,
            "a finite amount ≥ 0",
        )?;
        check(
            nonneg(self.death_rate),
            "shedding.death_rate",
            self.death_rate,
            "a finite rate ≥ 0",
        )?;
        check(
            (0.0..=1.0).contains(&self.fraction_to_blood),
            "shedding.fraction_to_blood",
            self.fraction_to_blood,
            "a fraction in [0, 1]",
        )
    }
}

/// Blood side of the marker: background release, elimination, plasma volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloodKinetics {
    /// B: release into blood from all non-tumour sources (amount/s).
    pub background: f64,
    /// k: first-order elimination rate constant (1/s); see [`BloodKinetics::rate_from_half_life`].
    pub elimination_rate: f64,
    /// V: plasma volume (m³), ~3 L in an adult.
    pub plasma_volume: f64,
}

impl BloodKinetics {
    /// Elimination rate constant (1/s) for a half-life (s): ln 2 / t½. Plasma
    /// small-EV half-life after IV injection is ~7 min in mice (Matsumoto 2020;
    /// ~2–20 min across studies: docs/references.md#matsumoto-2020).
    pub fn rate_from_half_life(half_life: f64) -> f64 {
        std::f64::consts::LN_2 / half_life
    }

    /// Background release B (amount/s) that keeps a steady plasma
    /// concentration `concentration` (amount/m³): B = k C V.
    pub fn background_for_concentration(&self, concentration: f64) -> f64 {
        self.elimination_rate * concentration * self.plasma_volume
    }

    /// Steady blood amount without a tumour: B / k.
    pub fn baseline_amount(&self) -> f64 {
        steady_state(self.background, self.elimination_rate)
    }

    /// Checks B ≥ 0, k > 0 and V > 0, all finite.
    pub fn validate(&self) -> Result<(), ParameterError> {
        check(
            self.background.is_finite() && self.background >= 0.0,
            "blood.background",
            self.background,
            "a finite release ≥ 0",
        )?;
        check(
            self.elimination_rate.is_finite() && self.elimination_rate > 0.0,
            "blood.elimination_rate",
            self.elimination_rate,
            "a finite rate > 0",
        )?;
        check(
            self.plasma_volume.is_finite() && self.plasma_volume > 0.0,
            "blood.plasma_volume",
            self.plasma_volume,
            "a finite volume > 0",
        )
    }
}

/// Steady-state amount of a constant input `input` (amount/s) eliminated at
/// rate `elimination` (1/s): input / elimination.
pub fn steady_state(input: f64, elimination: f64) -> f64 {
    input / elimination
}

/// (e^{x} − 1) / x, continuous at 0.
fn phi1(x: f64) -> f64 {
    if x == 0.0 { 1.0 } else { x.exp_m1() / x }
}

/// ∫₀^τ e^{−k(τ−s)} s₀ e^{γ s} ds, the amount left at τ of a source
/// s₀ e^{γ s} started at 0, computed without overflow or cancellation for
/// any k τ (including k τ ≫ 1, where e^{−kτ} underflows).
fn growing_source_integral(s0: f64, gamma: f64, k: f64, tau: f64) -> f64 {
    if s0 == 0.0 || tau <= 0.0 {
        return 0.0;
    }
    let x = (gamma + k) * tau;
    if x < 1.0 {
        // x < 1: expm1(x) is bounded, so nothing overflows.
        s0 * (-k * tau).exp() * tau * phi1(x)
    } else {
        // (s₀ e^{γτ} − s₀ e^{−kτ}) / (γ + k); the two terms differ by ≥ e.
        s0 * ((gamma * tau).exp() - (-k * tau).exp()) / (gamma + k)
    }
}

/// Amount left at τ of a constant input B started at 0: B (1 − e^{−kτ}) / k.
fn constant_source_integral(b: f64, k: f64, tau: f64) -> f64 {
    if b == 0.0 {
        return 0.0;
    }
    -b * (-k * tau).exp_m1() / k
}

/// Blood amount driven by an exponentially growing source, with the exact
/// solution of dM/dt = s₀ e^{γt} + B − k M, M(0) = M₀:
///
/// ```text
/// M(t) = M₀ e^{−kt} + B (1 − e^{−kt})/k + s₀ (e^{γt} − e^{−kt})/(γ + k)
/// ```
///
/// (the last term is s₀ t e^{−kt} when γ = −k).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialSource {
    /// s₀: source into blood at t = 0 (amount/s).
    pub initial_source: f64,
    /// γ: exponential growth rate of the source (1/s).
    pub growth_rate: f64,
    /// B: constant background input (amount/s).
    pub background: f64,
    /// k: elimination rate constant (1/s).
    pub elimination_rate: f64,
    /// M₀: blood amount at t = 0.
    pub initial_amount: f64,
}

impl ExponentialSource {
    /// Exact blood amount at time `t` ≥ 0 (s).
    pub fn amount(&self, t: f64) -> f64 {
        let k = self.elimination_rate;
        self.initial_amount * (-k * t).exp()
            + constant_source_integral(self.background, k, t)
            + growing_source_integral(self.initial_source, self.growth_rate, k, t)
    }

    /// dM/dt at time `t` (s).
    pub fn rate(&self, t: f64) -> f64 {
        self.initial_source * (self.growth_rate * t).exp() + self.background
            - self.elimination_rate * self.amount(t)
    }

    /// The first time t ≥ 0 (s) at which the amount reaches `threshold`,
    /// found by bracketing and bisection on the exact [`amount`](Self::amount)
    /// to a relative precision of ~1e-15: `Some(0.0)` when M₀ ≥ threshold,
    /// `None` when it is not reached before `t_max`.
    ///
    /// With γ ≥ 0 and k > 0, M(t) = A e^{−kt} + B/k + C e^{γt} has at most one
    /// interior minimum, so an upward crossing from below is unique and any
    /// bracket [0, t₁] with M(t₁) ≥ threshold contains exactly it.
    pub fn crossing_time(&self, threshold: f64, t_max: f64) -> Option<f64> {
        if self.initial_amount >= threshold {
            return Some(0.0);
        }
        let scale = 1.0 / (self.growth_rate.abs() + self.elimination_rate);
        let mut lo = 0.0;
        let mut hi = scale.min(t_max);
        while self.amount(hi) < threshold {
            if hi >= t_max {
                return None;
            }
            lo = hi;
            hi = (2.0 * hi).min(t_max);
        }
        Some(bisect(|t| self.amount(t) >= threshold, lo, hi))
    }
}

/// Smallest t in [lo, hi] (to ~1 ulp) with `reached(t)`, given `reached(hi)`
/// and a single switch from false to true.
pub(crate) fn bisect(reached: impl Fn(f64) -> bool, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// One step of the exponential integrator: the blood amount after `dt` (s),
/// starting from `amount`, with the tumour's input into blood going from
/// `source_start` to `source_end` (amount/s) during the step, background
/// `background` (amount/s) and elimination `elimination` (1/s).
///
/// The tumour source is taken as exponential within the step,
/// S(τ) = S₀ (S₁/S₀)^{τ/dt}, and the equation is then solved exactly; with
/// no allocation and three exponentials per step this is the cohort loop's
/// workhorse. It is exact for exponential growth whatever the step, and
/// stable for any k·dt (k·dt ≫ 1 gives the quasi-steady amount). For other
/// laws the only error is that of the interpolant of ln S: at most
/// dt²/8 · max|d² ln N/dt²| in relative terms, i.e. dt² r² ln(K/N)/8 for
/// Gompertz and dt² r² (N/K)(1 − N/K)/8 for logistic growth; keep
/// dt ≤ 0.1/r for ≤ 1e-3 relative error. When either end of the source is
/// zero the source is taken as the constant mean of the two ends.
pub fn exponential_integrator_step(
    amount: f64,
    source_start: f64,
    source_end: f64,
    background: f64,
    elimination: f64,
    dt: f64,
) -> f64 {
    integrator_amount_within(
        amount,
        source_start,
        source_end,
        background,
        elimination,
        dt,
        dt,
    )
}

/// The amount during a step of [`exponential_integrator_step`] at `tau` ∈ [0, dt].
pub(crate) fn integrator_amount_within(
    amount: f64,
    source_start: f64,
    source_end: f64,
    background: f64,
    elimination: f64,
    dt: f64,
    tau: f64,
) -> f64 {
    let k = elimination;
    let (s0, gamma) = if source_start > 0.0 && source_end > 0.0 {
        (source_start, (source_end / source_start).ln() / dt)
    } else {
        (0.5 * (source_start + source_end), 0.0)
    };
    amount * (-k * tau).exp()
        + constant_source_integral(background, k, tau)
        + growing_source_integral(s0, gamma, k, tau)
}

/// ⌈x⌉ steps, at least 1, for x ≥ 0: `f64::ceil` is a library call on the
/// baseline x86-64 target, and a screening test takes this once.
#[inline]
pub(crate) fn ceil_steps(x: f64) -> u64 {
    let s = x as u64;
    if (s as f64) < x {
        s.saturating_add(1)
    } else {
        s.max(1)
    }
}

/// k·h above which e^{−kh} is exactly 0 in f64 (e^{−745.2} underflows):
/// a step then forgets the amount it starts from.
pub const FORGETFUL_KH: f64 = 745.2;

/// Memory of the blood, in units of 1/k: how far back
/// [`MarkerKinetics::lineage_amount`] looks (e^{−40} ≈ 4·10⁻¹⁸).
pub const LINEAGE_MEMORY: f64 = 40.0;

/// First-order elimination as pools: one pool of weight 1 at the rate k.
const FIRST_ORDER: [Mode; 1] = [Mode {
    weight: C64 { re: 1.0, im: 0.0 },
    rate: C64 { re: 1.0, im: 0.0 },
}];

/// The blood of one individual between tests: the amount (first-order
/// elimination) or the amount in each pool of [`BloodModes`].
#[derive(Debug, Clone, PartialEq)]
pub enum BloodState {
    /// Blood amount under first-order elimination.
    Amount(f64),
    /// Amount in each pool (body-engine kinetics, or a tissue burden).
    Pools(Vec<C64>),
}

/// A tumour shedding a marker into blood: the deterministic model of one individual.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkerKinetics<'a> {
    /// Tumour growth law.
    pub growth: GrowthLaw,
    /// Tumour cells at t = 0 (initiation).
    pub initial_cells: f64,
    /// Input into blood per tumour cell (amount/(cell·s)): [`Shedding::rate_per_cell`].
    pub source_per_cell: f64,
    /// Blood side: background, elimination, plasma volume.
    pub blood: BloodKinetics,
    /// The body engine's blood compartment as pools, with
    /// `blood.elimination_rate` their effective rate; `None`: first-order.
    pub modes: Option<&'a BloodModes>,
    /// A burden from the tissue engine, replacing `growth` and
    /// `initial_cells`; `None`: the growth law.
    pub burden: Option<&'a TabulatedBurden>,
    /// Drugs inhibiting the tumour's shedding: its input into blood is
    /// multiplied by their factor's course, and the blood is followed as
    /// pools stepping at the course's knots; `None`: no drug.
    pub release: Option<&'a ReleaseInhibition>,
}

impl MarkerKinetics<'_> {
    /// Tumour cells at time `t` (s).
    pub fn cells(&self, t: f64) -> f64 {
        match self.burden {
            Some(b) => b.cells(t),
            None => self.growth.cells(self.initial_cells, t),
        }
    }

    /// Whether the blood is followed as pools ([`BloodState::Pools`]): with
    /// body-engine kinetics, a tabulated burden or a drug's course (whose
    /// pieces are solved by the pool code even with first-order elimination).
    pub fn uses_pools(&self) -> bool {
        self.modes.is_some() || self.burden.is_some() || self.release.is_some()
    }

    fn pools(&self) -> &[Mode] {
        self.modes.map_or(&FIRST_ORDER, |m| &m.modes)
    }

    /// The tumour-free steady state B/k, as a [`BloodState`].
    pub fn baseline_state(&self) -> BloodState {
        if !self.uses_pools() {
            return BloodState::Amount(self.blood.baseline_amount());
        }
        let k = self.blood.elimination_rate;
        let b = self.blood.background;
        BloodState::Pools(
            self.pools()
                .iter()
                .map(|m| C64::new(b, 0.0) / (m.rate * k))
                .collect(),
        )
    }

    /// The blood amount of a state.
    pub fn amount_of(&self, state: &BloodState) -> f64 {
        match state {
            BloodState::Amount(m) => *m,
            BloodState::Pools(x) => self
                .pools()
                .iter()
                .zip(x)
                .map(|(m, x)| (m.weight * x).re)
                .sum(),
        }
    }

    /// [`advance`](Self::advance) for either kind of state; returns the amount at `t1`.
    pub fn advance_state(&self, state: &mut BloodState, t0: f64, t1: f64, max_step: f64) -> f64 {
        match state {
            BloodState::Amount(m) => {
                *m = self.advance(*m, t0, t1, max_step);
                *m
            }
            BloodState::Pools(x) => {
                self.advance_pools(x, t0, t1, max_step, true);
                self.amount_of(state)
            }
        }
    }

    /// Ends of the integrator steps over (`t0`, `t1`]: a tabulated burden
    /// steps at its frames (each piece is exponential, so solved exactly),
    /// subdivided to at most `max_step` unless `exact` allows one step per
    /// exponential piece; an exponential law takes one step when `exact`;
    /// other laws take equal steps of at most `max_step`.
    fn step_ends(&self, t0: f64, t1: f64, max_step: f64, exact: bool) -> Vec<f64> {
        let mut pieces: Vec<f64> = match self.burden {
            Some(b) => b.knots_within(t0, t1).to_vec(),
            None => Vec::new(),
        };
        if let Some(r) = self.release {
            pieces.extend_from_slice(r.knots_within(t0, t1));
            pieces.sort_by(f64::total_cmp);
            pieces.dedup();
        }
        pieces.push(t1);
        let exponential =
            self.burden.is_some() || matches!(self.growth, GrowthLaw::Exponential { .. });
        let mut ends = Vec::new();
        let mut a = t0;
        for b in pieces {
            let steps = if exact && exponential {
                1
            } else {
                ((b - a) / max_step).ceil().max(1.0) as u64
            };
            let h = (b - a) / steps as f64;
            ends.extend((1..steps).map(|i| a + h * i as f64));
            ends.push(b);
            a = b;
        }
        ends
    }

    /// Advances pool amounts `x` from `t0` to `t1` (s) through [`step_ends`](Self::step_ends).
    ///
    /// A pool of rate λ forgets its state after [`LINEAGE_MEMORY`]/Re λ
    /// (e^{−40} ≈ 4·10⁻¹⁸, below f64 resolution), so each pool walks only
    /// the steps within that memory of `t1`, from the quasi-steady amount
    /// (B + S)/λ: years between tests cost a few steps of the slowest pool
    /// and one of the fast ones, instead of every step for every pool.
    fn advance_pools(&self, x: &mut [C64], t0: f64, t1: f64, max_step: f64, exact: bool) {
        if t1 <= t0 {
            return;
        }
        let k = self.blood.elimination_rate;
        let b = self.blood.background;
        let ends = self.step_ends(t0, t1, max_step, exact);
        let start_of = |j: usize| if j == 0 { t0 } else { ends[j - 1] };
        // The first step within the memory of a pool of rate `re` (1/s).
        let first_step = |re: f64| ends.partition_point(|&e| e <= t1 - LINEAGE_MEMORY / re);
        let slowest = self
            .pools()
            .iter()
            .map(|m| m.rate.re * k)
            .fold(f64::INFINITY, f64::min);
        let first = first_step(slowest);
        // Sources at the start of step `first` and at every later step end
        // (from the right), and at the step ends from the left where a
        // drug's course may jump there.
        let times = || std::iter::once(start_of(first)).chain(ends[first..].iter().copied());
        let sources: Vec<f64> = times().map(|t| self.source(t)).collect();
        let before: Option<Vec<f64>> = self
            .release
            .map(|_| times().map(|t| self.source_before(t)).collect());
        let ending = before.as_ref().unwrap_or(&sources);
        for (x, m) in x.iter_mut().zip(self.pools()) {
            let lambda = m.rate * k;
            let j0 = first_step(m.rate.re * k).max(first);
            if j0 > 0 {
                *x = C64::new(b + sources[j0 - first], 0.0) / lambda;
            }
            for j in j0..ends.len() {
                let dt = ends[j] - start_of(j);
                let (s_a, s_b) = (sources[j - first], ending[j + 1 - first]);
                *x = pool_within(*x, s_a, s_b, b, lambda, dt, dt);
            }
        }
    }

    /// Tumour input into blood (amount/s) at time `t` (s); under a drug,
    /// from the right at a bolus (the dose given then acts).
    pub fn source(&self, t: f64) -> f64 {
        let s = self.source_per_cell * self.cells(t);
        match self.release {
            Some(r) => s * r.factor(t),
            None => s,
        }
    }

    /// [`source`](Self::source) from the left at `t`: before a bolus given
    /// then (the same value wherever the drug's course does not jump).
    pub fn source_before(&self, t: f64) -> f64 {
        match self.release {
            Some(r) => self.source_per_cell * self.cells(t) * r.factor_before(t),
            None => self.source(t),
        }
    }

    /// The share of the tumour's untreated input that reaches the blood
    /// level at `at` (s) when the tumour is held at a constant size from the
    /// untreated steady state before the first dose: `k·∫h(at − u)F(u)du`
    /// over the blood's impulse response h (∫h = 1/k), plus what is left of
    /// the steady state before the course, `k·∫_{at}^∞ h`. With first-order
    /// elimination, `F̄ = e^{−k·at} + k∫₀^{at} e^{−k(at−u)}F(u)du`. 1 without
    /// a drug: the held level is then the steady one.
    pub fn held_release_factor(&self, at: f64) -> f64 {
        if self.release.is_none() {
            return 1.0;
        }
        let unit = MarkerKinetics {
            growth: GrowthLaw::Exponential { rate: 0.0 },
            initial_cells: 1.0,
            source_per_cell: 1.0,
            blood: BloodKinetics {
                background: 0.0,
                ..self.blood
            },
            burden: None,
            ..*self
        };
        let k = self.blood.elimination_rate;
        let mut x: Vec<C64> = unit
            .pools()
            .iter()
            .map(|m| C64::new(1.0, 0.0) / (m.rate * k))
            .collect();
        unit.advance_pools(&mut x, 0.0, at, f64::INFINITY, true);
        k * unit.amount_of(&BloodState::Pools(x))
    }

    /// Blood concentration (amount/m³) of a tumour held at `cells` whose
    /// input reaches the blood level in the share `held` of
    /// [`held_release_factor`](Self::held_release_factor): (B + s·N·held)/(kV),
    /// the [`steady_concentration`](Self::steady_concentration) at `held` = 1.
    pub fn held_concentration(&self, cells: f64, held: f64) -> f64 {
        steady_state(
            self.blood.background + self.source_per_cell * cells * held,
            self.blood.elimination_rate,
        ) / self.blood.plasma_volume
    }

    /// Steady blood concentration (amount/m³) for a tumour held at `cells`:
    /// (B + s N) / (k V).
    pub fn steady_concentration(&self, cells: f64) -> f64 {
        steady_state(
            self.blood.background + self.source_per_cell * cells,
            self.blood.elimination_rate,
        ) / self.blood.plasma_volume
    }

    /// Advances the blood amount from `t0` to `t1` (s) in steps of at most
    /// `max_step` (s) of [`exponential_integrator_step`]; exponential growth
    /// takes one exact step whatever `max_step`.
    ///
    /// With body-engine pools the amount alone is not the state: `amount`
    /// is split over the pools as a steady state is (x_i ∝ 1/λ_i), which is
    /// exact from the baseline; [`advance_state`](Self::advance_state)
    /// carries the pools themselves.
    pub fn advance(&self, amount: f64, t0: f64, t1: f64, max_step: f64) -> f64 {
        self.advance_with(None, amount, t0, t1, max_step)
    }

    /// [`advance_state`](Self::advance_state) with `ln_cells` =
    /// `growth.ln_cells_from(initial_cells)` taken once for many calls.
    pub fn advance_state_with(
        &self,
        ln_cells: &LnCells,
        state: &mut BloodState,
        t0: f64,
        t1: f64,
        max_step: f64,
    ) -> f64 {
        match state {
            BloodState::Amount(m) => {
                *m = self.advance_with(Some(ln_cells), *m, t0, t1, max_step);
                *m
            }
            BloodState::Pools(_) => self.advance_state(state, t0, t1, max_step),
        }
    }

    /// [`advance`](Self::advance) with `ln_cells` = `growth.ln_cells_from(initial_cells)`
    /// when given (computed here otherwise).
    fn advance_with(
        &self,
        ln_cells: Option<&LnCells>,
        amount: f64,
        t0: f64,
        t1: f64,
        max_step: f64,
    ) -> f64 {
        let span = t1 - t0;
        if span <= 0.0 {
            return amount;
        }
        if self.uses_pools() {
            let mut x: Vec<C64> = self
                .pools()
                .iter()
                .map(|m| C64::new(amount, 0.0) / m.rate)
                .collect();
            self.advance_pools(&mut x, t0, t1, max_step, true);
            return self.amount_of(&BloodState::Pools(x));
        }
        let steps = self.steps(span, max_step);
        let h = span / steps as f64;
        let b = self.blood.background;
        let k = self.blood.elimination_rate;
        // When one step forgets its start completely (e^{-kh} underflows to
        // 0, e.g. minutes of half-life against days of step), every step's
        // result is independent of the amount it starts from: only the last
        // step matters. Its exact solution then reduces to the quasi-steady
        // amount B/k + S₁/(γ + k), with γ = ln(S₁/S₀)/h the step's growth rate
        // (e^{−kh} = 0 and S₀e^{γh} = S₁ in the integrator's formula), taken
        // from ln N directly: three exponentials instead of ten.
        if k * h > FORGETFUL_KH {
            let t_a = t0 + h * (steps - 1) as f64;
            let ln_cells = match ln_cells {
                Some(l) => *l,
                None => self.growth.ln_cells_from(self.initial_cells),
            };
            let ln_a = ln_cells.at(t_a);
            let ln_b = ln_cells.at(t1);
            let gamma = (ln_b - ln_a) / h;
            let s1 = self.source_per_cell * ln_b.exp();
            if s1 > 0.0 && s1.is_finite() && (gamma + k) * h >= 1.0 {
                return b / k + s1 / (gamma + k);
            }
            return exponential_integrator_step(0.0, self.source(t_a), self.source(t1), b, k, h);
        }
        let mut m = amount;
        let mut s_a = self.source(t0);
        for i in 1..=steps {
            let t_b = if i == steps { t1 } else { t0 + h * i as f64 };
            let s_b = self.source(t_b);
            m = exponential_integrator_step(m, s_a, s_b, b, k, h);
            s_a = s_b;
        }
        m
    }

    /// [`lineage_amount`](Self::lineage_amount) with pools.
    fn lineage_pools(&self, lineage: &Lineage, t: f64) -> f64 {
        let b = self.blood.background;
        let k = self.blood.elimination_rate;
        let s = self.source_per_cell;
        let pools = self.pools();
        let slowest = pools
            .iter()
            .map(|m| m.rate.re * k)
            .fold(f64::INFINITY, f64::min);
        let end = t.min(lineage.switch_time).max(0.0);
        let start = (end - LINEAGE_MEMORY / slowest).max(0.0);
        let mut i = lineage.times.partition_point(|&x| x <= start).max(1);
        let mut n = lineage.cells[i - 1] as f64;
        let input0 = if start == 0.0 { b } else { b + s * n };
        let mut x: Vec<C64> = pools
            .iter()
            .map(|m| C64::new(input0, 0.0) / (m.rate * k))
            .collect();
        let mut at = start;
        let hold = |x: &mut [C64], n: f64, from: f64, to: f64| match self.release {
            None => {
                for (x, m) in x.iter_mut().zip(pools) {
                    *x = pool_hold(*x, b + s * n, m.rate * k, to - from);
                }
            }
            Some(r) => self.drug_pieces(r, x, from, to, &|_| s * n),
        };
        while i < lineage.times.len() && lineage.times[i] <= end {
            hold(&mut x, n, at, lineage.times[i]);
            at = lineage.times[i];
            n = lineage.cells[i] as f64;
            i += 1;
        }
        hold(&mut x, n, at, end);
        if t > lineage.switch_time {
            let (sw, rate) = (lineage.switch_time, lineage.rate);
            let s0 = s * lineage.switch_cells as f64;
            match self.release {
                None => {
                    let dt = t - sw;
                    let s1 = s0 * (rate * dt).exp();
                    for (x, m) in x.iter_mut().zip(pools) {
                        *x = pool_within(*x, s0, s1, b, m.rate * k, dt, dt);
                    }
                }
                Some(r) => self.drug_pieces(r, &mut x, sw, t, &|u| s0 * (rate * (u - sw)).exp()),
            }
        }
        self.amount_of(&BloodState::Pools(x))
    }

    /// Advances pools `x` over (`from`, `to`) in the pieces between the
    /// knots of the drug's course `r`, the tumour's untreated input being
    /// `tumour(t)` (exponential within each piece, as the course's factor
    /// is log-linear: each piece is solved exactly).
    fn drug_pieces(
        &self,
        r: &ReleaseInhibition,
        x: &mut [C64],
        from: f64,
        to: f64,
        tumour: &dyn Fn(f64) -> f64,
    ) {
        let b = self.blood.background;
        let k = self.blood.elimination_rate;
        let mut a = from;
        for &c in r.knots_within(from, to).iter().chain(std::iter::once(&to)) {
            let dt = c - a;
            if dt > 0.0 {
                let (s_a, s_b) = (tumour(a) * r.factor(a), tumour(c) * r.factor_before(c));
                for (x, m) in x.iter_mut().zip(self.pools()) {
                    *x = pool_within(*x, s_a, s_b, b, m.rate * k, dt, dt);
                }
            }
            a = c;
        }
    }

    /// [`crossing`](Self::crossing) with pools: steps of at most `max_step`
    /// (at the frames of a tabulated burden), then bisection within the step.
    fn crossing_pools(&self, threshold: f64, t_max: f64, max_step: f64) -> Option<(f64, f64)> {
        let target = threshold * self.blood.plasma_volume;
        let BloodState::Pools(mut x) = self.baseline_state() else {
            unreachable!("pools were asked for")
        };
        let amount = |x: &[C64]| -> f64 {
            self.pools()
                .iter()
                .zip(x)
                .map(|(m, x)| (m.weight * x).re)
                .sum()
        };
        let m0 = amount(&x);
        if m0 >= target {
            return Some((0.0, m0));
        }
        let k = self.blood.elimination_rate;
        let b = self.blood.background;
        let mut t_a = 0.0;
        let mut s_a = self.source(0.0);
        let mut next = x.clone();
        for t_b in self.step_ends(0.0, t_max, max_step, false) {
            let dt = t_b - t_a;
            let s_b = self.source_before(t_b);
            let within = |tau: f64, out: &mut [C64]| {
                for ((o, x), m) in out.iter_mut().zip(&x).zip(self.pools()) {
                    *o = pool_within(*x, s_a, s_b, b, m.rate * k, dt, tau);
                }
            };
            within(dt, &mut next);
            if amount(&next) >= target {
                let at = |tau: f64| {
                    let mut probe = vec![C64::new(0.0, 0.0); x.len()];
                    within(tau, &mut probe);
                    amount(&probe)
                };
                let tau = bisect(|tau| at(tau) >= target, 0.0, dt);
                return Some((t_a + tau, at(tau)));
            }
            std::mem::swap(&mut x, &mut next);
            t_a = t_b;
            s_a = if self.release.is_some() {
                self.source(t_b)
            } else {
                s_b
            };
        }
        None
    }

    fn steps(&self, span: f64, max_step: f64) -> u64 {
        match self.growth {
            GrowthLaw::Exponential { .. } => 1,
            _ => ceil_steps(span / max_step),
        }
    }

    /// Blood amount at time `t` (s) for a tumour that follows `lineage` (a
    /// branching process from one cell: a step function of cells until
    /// `switch_time`, exponential at `lineage.rate` after it), starting from
    /// the tumour-free steady state B/k at t = 0.
    ///
    /// Between events the source is constant, so each piece is solved exactly:
    /// M ← M e^{−kΔ} + (B + sN)(1 − e^{−kΔ})/k; after the switch the closed
    /// form of [`ExponentialSource`] takes over. Only the last
    /// [`LINEAGE_MEMORY`]/k seconds before `t` (or before the switch) are
    /// walked, starting from the quasi-steady amount (B + sN)/k: what came
    /// earlier is weighted by e^{−40} ≈ 4·10⁻¹⁸, below f64 resolution.
    ///
    /// With body-engine pools each pool is walked the same way, over the
    /// memory of the slowest one.
    pub fn lineage_amount(&self, lineage: &Lineage, t: f64) -> f64 {
        if self.uses_pools() {
            return self.lineage_pools(lineage, t);
        }
        let b = self.blood.background;
        let k = self.blood.elimination_rate;
        let s = self.source_per_cell;
        let hold =
            |m: f64, n: f64, dt: f64| m * (-k * dt).exp() - (b + s * n) * (-k * dt).exp_m1() / k;
        let end = t.min(lineage.switch_time).max(0.0);
        let start = (end - LINEAGE_MEMORY / k).max(0.0);
        // Events at or before `start`; times[0] = 0 so i ≥ 1.
        let mut i = lineage.times.partition_point(|&x| x <= start).max(1);
        let mut n = lineage.cells[i - 1] as f64;
        let mut m = if start == 0.0 { b / k } else { (b + s * n) / k };
        let mut at = start;
        while i < lineage.times.len() && lineage.times[i] <= end {
            m = hold(m, n, lineage.times[i] - at);
            at = lineage.times[i];
            n = lineage.cells[i] as f64;
            i += 1;
        }
        m = hold(m, n, end - at);
        if t <= lineage.switch_time {
            return m;
        }
        ExponentialSource {
            initial_source: s * lineage.switch_cells as f64,
            growth_rate: lineage.rate,
            background: b,
            elimination_rate: k,
            initial_amount: m,
        }
        .amount(t - lineage.switch_time)
    }

    /// The first time (s) in [0, `t_max`] at which the blood concentration
    /// reaches `threshold` (amount/m³), starting from the tumour-free steady
    /// state B/k at t = 0, with the blood amount then. Steps as
    /// [`advance`](Self::advance) (at most `max_step`; exponential growth is
    /// solved by the exact closed form), then bisects on the exact
    /// within-step expression. `None` if not reached by `t_max`.
    ///
    /// With pools the amount within a step is a sum of several exponentials:
    /// the bisection finds a crossing within the first step that ends above
    /// the threshold (the first one unless the amount crosses twice within a
    /// step, which a growing tumour does not do).
    pub fn crossing(&self, threshold: f64, t_max: f64, max_step: f64) -> Option<(f64, f64)> {
        if self.uses_pools() {
            return self.crossing_pools(threshold, t_max, max_step);
        }
        let target = threshold * self.blood.plasma_volume;
        let m0 = self.blood.baseline_amount();
        if let GrowthLaw::Exponential { rate } = self.growth {
            let exact = ExponentialSource {
                initial_source: self.source(0.0),
                growth_rate: rate,
                background: self.blood.background,
                elimination_rate: self.blood.elimination_rate,
                initial_amount: m0,
            };
            return exact
                .crossing_time(target, t_max)
                .map(|t| (t, exact.amount(t)));
        }
        if m0 >= target {
            return Some((0.0, m0));
        }
        let steps = self.steps(t_max, max_step);
        let h = t_max / steps as f64;
        let b = self.blood.background;
        let k = self.blood.elimination_rate;
        let mut m = m0;
        let mut t_a = 0.0;
        let mut s_a = self.source(0.0);
        for i in 1..=steps {
            let t_b = if i == steps { t_max } else { h * i as f64 };
            let dt = t_b - t_a;
            let s_b = self.source(t_b);
            let m_b = exponential_integrator_step(m, s_a, s_b, b, k, dt);
            if m_b >= target {
                // The amount within a step is A e^{−kτ} + c + C e^{γτ}: one
                // upward crossing at most from below.
                let at = |tau: f64| integrator_amount_within(m, s_a, s_b, b, k, dt, tau);
                let tau = bisect(|tau| at(tau) >= target, 0.0, dt);
                return Some((t_a + tau, at(tau)));
            }
            m = m_b;
            t_a = t_b;
            s_a = s_b;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stiff_step_gives_quasi_steady_state() {
        // k dt = 1e4: the amount must be the quasi-steady S/(γ + k) + B/k, not NaN.
        let k = 1.0;
        let m = exponential_integrator_step(0.0, 1.0, 2.0, 3.0, k, 1e4);
        let gamma = 2f64.ln() / 1e4;
        let expected = 2.0 / (gamma + k) + 3.0;
        assert!((m - expected).abs() / expected < 1e-12, "{m} vs {expected}");
    }

    #[test]
    fn gamma_equal_minus_k() {
        let v = growing_source_integral(2.0, -0.5, 0.5, 3.0);
        let expected = 2.0 * 3.0 * (-1.5f64).exp();
        assert!((v - expected).abs() < 1e-14);
    }

    #[test]
    fn lineage_amount_matches_piecewise_closed_form() {
        // One cell until t = 2, then three until the switch at t = 5, then
        // exponential: the amount must equal stepping the exact solution.
        let kin = MarkerKinetics {
            growth: GrowthLaw::Exponential { rate: 0.3 },
            initial_cells: 1.0,
            source_per_cell: 2.0,
            blood: BloodKinetics {
                background: 1.5,
                elimination_rate: 0.7,
                plasma_volume: 1.0,
            },
            modes: None,
            burden: None,
            release: None,
        };
        let lineage = Lineage {
            times: vec![0.0, 2.0, 5.0],
            cells: vec![1, 3, 4],
            switch_time: 5.0,
            switch_cells: 4,
            rate: 0.3,
            attempts: 1,
        };
        let (b, k, s) = (1.5, 0.7, 2.0);
        let hold = |m: f64, n: f64, dt: f64| {
            let e = (-k * dt).exp();
            m * e + (b + s * n) * (1.0 - e) / k
        };
        let m2 = hold(b / k, 1.0, 2.0);
        let m5 = hold(m2, 3.0, 3.0);
        let m7 = ExponentialSource {
            initial_source: s * 4.0,
            growth_rate: 0.3,
            background: b,
            elimination_rate: k,
            initial_amount: m5,
        }
        .amount(2.0);
        for (t, want) in [
            (2.0, m2),
            (5.0, m5),
            (7.0, m7),
            (1.0, hold(b / k, 1.0, 1.0)),
        ] {
            let got = kin.lineage_amount(&lineage, t);
            assert!(
                (got - want).abs() / want < 1e-12,
                "t = {t}: {got} vs {want}"
            );
        }
    }
}
