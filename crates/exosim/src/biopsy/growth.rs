//! Tumour burden N(t) in cells: deterministic growth laws with closed forms,
//! size conversions, and a stochastic birth–death branching process for the
//! first cells of a tumour.
//!
//! All times are in seconds and all rates in 1/s (see [`crate::units`]);
//! cell numbers are plain counts (`f64`).
//!
//! # Growth laws
//!
//! | law         | dN/dt              | N(t)                                  |
//! |-------------|--------------------|---------------------------------------|
//! | exponential | r N                | N₀ e^{rt}                             |
//! | logistic    | r N (1 − N/K)      | K / (1 + (K/N₀ − 1) e^{−rt})          |
//! | Gompertz    | r N ln(K/N)        | K exp(ln(N₀/K) e^{−rt})               |
//!
//! # Sizes
//!
//! A tumour is treated as a sphere of packed cells; the default density is
//! [`CELLS_PER_M3`] = 10⁹ cells/cm³ (Fiala & Diamandis 2018, docs/references.md#fiala-2018),
//! so a 1 cm tumour holds about 5·10⁸ cells.

use rand::{Rng, RngExt};

/// Default cell density of a solid tumour: 10⁹ cells/cm³ = 10¹⁵ cells/m³
/// (Fiala & Diamandis 2018, docs/references.md#fiala-2018).
pub const CELLS_PER_M3: f64 = 1e15;

/// Default size (cells) above which [`BranchingProcess::surviving_lineage`]
/// switches from the stochastic simulation to deterministic exponential
/// growth. From 10⁴ cells the chance of extinction is (d/b)^10⁴, negligible
/// for any supercritical process, and the relative fluctuation of the
/// population is of order 1/√10⁴ = 1 %.
pub const SWITCH_CELLS: u64 = 10_000;

/// A parameter outside its valid range, found when a model is validated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} = {value} is invalid: expected {expected}.")]
pub struct ParameterError {
    /// Name of the parameter, as a field path (e.g. `isolation.recovery_cv`).
    pub name: &'static str,
    /// The value given.
    pub value: f64,
    /// The valid range, in words.
    pub expected: &'static str,
}

/// `Ok` when `ok` holds, else a [`ParameterError`].
pub(crate) fn check(
    ok: bool,
    name: &'static str,
    value: f64,
    expected: &'static str,
) -> Result<(), ParameterError> {
    if ok && !value.is_nan() {
        Ok(())
    } else {
        Err(ParameterError {
            name,
            value,
            expected,
        })
    }
}

/// A deterministic law of tumour growth, with rates in 1/s and capacities in cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GrowthLaw {
    /// dN/dt = r N: unbounded growth with doubling time ln 2 / r.
    Exponential {
        /// Net growth rate r (1/s).
        rate: f64,
    },
    /// dN/dt = r N (1 − N/K).
    Logistic {
        /// Intrinsic growth rate r (1/s), the exponential rate of a small tumour.
        rate: f64,
        /// Carrying capacity K (cells).
        capacity: f64,
    },
    /// dN/dt = r N ln(K/N).
    Gompertz {
        /// Rate r (1/s) at which the specific growth rate ln(K/N) decays.
        rate: f64,
        /// Plateau size K (cells).
        capacity: f64,
    },
}

impl GrowthLaw {
    /// Exponential growth with the given volume doubling time (s).
    pub fn exponential_doubling(doubling_time: f64) -> GrowthLaw {
        GrowthLaw::Exponential {
            rate: rate_from_doubling_time(doubling_time),
        }
    }

    /// Checks that rates are positive and finite and capacities positive.
    pub fn validate(&self) -> Result<(), ParameterError> {
        match *self {
            GrowthLaw::Exponential { rate } => check(
                rate.is_finite() && rate >= 0.0,
                "growth.rate",
                rate,
                "a finite rate ≥ 0",
            ),
            GrowthLaw::Logistic { rate, capacity } | GrowthLaw::Gompertz { rate, capacity } => {
                check(
                    rate.is_finite() && rate > 0.0,
                    "growth.rate",
                    rate,
                    "a finite rate > 0",
                )?;
                check(
                    capacity.is_finite() && capacity > 0.0,
                    "growth.capacity",
                    capacity,
                    "a finite number of cells > 0",
                )
            }
        }
    }

    /// The growth rate dN/dt (cells/s) at size `n`.
    pub fn derivative(&self, n: f64) -> f64 {
        match *self {
            GrowthLaw::Exponential { rate } => rate * n,
            GrowthLaw::Logistic { rate, capacity } => rate * n * (1.0 - n / capacity),
            GrowthLaw::Gompertz { rate, capacity } => {
                if n > 0.0 {
                    rate * n * (capacity / n).ln()
                } else {
                    0.0
                }
            }
        }
    }

    /// The specific growth rate (1/N) dN/dt (1/s) at size `n`, the local
    /// exponential rate.
    pub fn specific_rate(&self, n: f64) -> f64 {
        match *self {
            GrowthLaw::Exponential { rate } => rate,
            GrowthLaw::Logistic { rate, capacity } => rate * (1.0 - n / capacity),
            GrowthLaw::Gompertz { rate, capacity } => rate * (capacity / n).ln(),
        }
    }

    /// Closed-form size N(t) (cells) at time `t` ≥ 0 (s) of a tumour of `n0` cells at t = 0.
    pub fn cells(&self, n0: f64, t: f64) -> f64 {
        match *self {
            GrowthLaw::Exponential { rate } => n0 * (rate * t).exp(),
            GrowthLaw::Logistic { rate, capacity } => {
                capacity / (1.0 + (capacity / n0 - 1.0) * (-rate * t).exp())
            }
            GrowthLaw::Gompertz { rate, capacity } => {
                capacity * ((n0 / capacity).ln() * (-rate * t).exp()).exp()
            }
        }
    }

    /// ln N(t) of [`cells`](Self::cells), computed directly (one
    /// exponential at most for the Gompertz law, none for the exponential
    /// one): the log-source is what the blood-kinetics closed forms need.
    pub fn ln_cells(&self, n0: f64, t: f64) -> f64 {
        self.ln_cells_from(n0).at(t)
    }

    /// [`ln_cells`](Self::ln_cells) from `n0` with the law's constant
    /// logarithms taken once, for many times.
    pub fn ln_cells_from(&self, n0: f64) -> LnCells {
        let (a, b) = match *self {
            GrowthLaw::Exponential { .. } => (n0.ln(), 0.0),
            GrowthLaw::Logistic { capacity, .. } => (capacity.ln(), capacity / n0 - 1.0),
            GrowthLaw::Gompertz { capacity, .. } => (capacity.ln(), (n0 / capacity).ln()),
        };
        LnCells { law: *self, a, b }
    }

    /// The first time t ≥ 0 (s) at which a tumour of `n0` cells at t = 0
    /// reaches `n` cells: `Some(0.0)` when `n ≤ n0`, `None` when it never
    /// does (a zero rate, or `n` at or above the capacity of a bounded law).
    pub fn time_to(&self, n0: f64, n: f64) -> Option<f64> {
        if n <= n0 {
            return Some(0.0);
        }
        match *self {
            GrowthLaw::Exponential { rate } => (rate > 0.0).then(|| (n / n0).ln() / rate),
            GrowthLaw::Logistic { rate, capacity } => (n < capacity && rate > 0.0)
                .then(|| ((capacity / n0 - 1.0) / (capacity / n - 1.0)).ln() / rate),
            GrowthLaw::Gompertz { rate, capacity } => (n < capacity && rate > 0.0)
                .then(|| -((n / capacity).ln() / (n0 / capacity).ln()).ln() / rate),
        }
    }
}

/// ln N(t) of one growth law and initial size ([`GrowthLaw::ln_cells_from`]):
/// why: a screening test needs ln N at two times, and the logarithms of
/// the law's constants cost as much as the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LnCells {
    law: GrowthLaw,
    /// ln N₀ (exponential) or ln K (logistic, Gompertz).
    a: f64,
    /// K/N₀ − 1 (logistic), ln(N₀/K) (Gompertz).
    b: f64,
}

impl LnCells {
    /// ln N(t) at time `t` ≥ 0 (s): at most one exponential.
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        match self.law {
            GrowthLaw::Exponential { rate } => self.a + rate * t,
            GrowthLaw::Logistic { rate, .. } => self.a - (self.b * (-rate * t).exp()).ln_1p(),
            GrowthLaw::Gompertz { rate, .. } => self.a + self.b * (-rate * t).exp(),
        }
    }
}

/// Diameter (m) of a spherical tumour of `cells` cells at `cells_per_m3` cells per m³.
pub fn diameter(cells: f64, cells_per_m3: f64) -> f64 {
    (6.0 * cells / (std::f64::consts::PI * cells_per_m3)).cbrt()
}

/// Cells in a spherical tumour of `diameter` (m) at `cells_per_m3`; the inverse of [`diameter`].
pub fn cells_for_diameter(diameter: f64, cells_per_m3: f64) -> f64 {
    std::f64::consts::PI / 6.0 * diameter.powi(3) * cells_per_m3
}

/// Exponential growth rate (1/s) for a doubling time (s): ln 2 / T_d.
pub fn rate_from_doubling_time(doubling_time: f64) -> f64 {
    std::f64::consts::LN_2 / doubling_time
}

/// Doubling time (s) for an exponential growth rate (1/s): ln 2 / r.
pub fn doubling_time(rate: f64) -> f64 {
    std::f64::consts::LN_2 / rate
}

/// A linear birth–death process: each cell divides at rate `birth` and
/// dies at rate `death` (both 1/s), independently of the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BranchingProcess {
    /// Division rate b (1/s).
    pub birth: f64,
    /// Death rate d (1/s).
    pub death: f64,
}

/// A tumour started from one cell by a [`BranchingProcess`], conditioned on
/// survival: simulated exactly up to `switch_cells`, then grown
/// deterministically at b − d (see [`BranchingProcess::surviving_lineage`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BranchingStart {
    /// Birth and death rates of the tumour cells.
    pub process: BranchingProcess,
    /// Size (cells) at which growth becomes deterministic, default [`SWITCH_CELLS`].
    pub switch_cells: u64,
}

impl BranchingStart {
    /// Checks b > d ≥ 0 (finite: otherwise no lineage survives) and a switch of at least one cell.
    pub fn validate(&self) -> Result<(), ParameterError> {
        let BranchingProcess { birth, death } = self.process;
        check(
            death.is_finite() && death >= 0.0,
            "growth.death_rate",
            death,
            "a finite rate ≥ 0",
        )?;
        check(
            birth.is_finite() && birth > death,
            "growth.birth_rate",
            birth,
            "a finite rate above the death rate (else every lineage dies out)",
        )?;
        check(
            self.switch_cells >= 1,
            "growth.switch_cells",
            self.switch_cells as f64,
            "at least 1 cell",
        )
    }
}

/// What became of one lineage simulated by [`BranchingProcess::run_until`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineageFate {
    /// The last cell died at this time (s).
    Extinct {
        /// Time of extinction (s).
        time: f64,
    },
    /// The lineage reached the target size at this time (s).
    Reached {
        /// Time at which the target size was first reached (s).
        time: f64,
    },
}

/// The path of one surviving lineage from [`BranchingProcess::surviving_lineage`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lineage {
    /// Event times (s) of the stochastic phase, starting with 0.
    pub times: Vec<f64>,
    /// Cells just after each event in `times`, starting with 1.
    pub cells: Vec<u64>,
    /// Time (s) at which the lineage reached `switch_cells` and growth became deterministic.
    pub switch_time: f64,
    /// Size at the switch (cells).
    pub switch_cells: u64,
    /// Exponential rate b − d (1/s) of the deterministic phase.
    pub rate: f64,
    /// Lineages simulated to get this one (1 + the extinct ones discarded).
    pub attempts: u32,
}

impl Lineage {
    /// Cells at time `t` (s): the stochastic path (a step function) before
    /// the switch, `switch_cells · e^{(b−d)(t − switch_time)}` after it.
    pub fn cells_at(&self, t: f64) -> f64 {
        if t >= self.switch_time {
            return self.switch_cells as f64 * (self.rate * (t - self.switch_time)).exp();
        }
        let i = self.times.partition_point(|&s| s <= t);
        if i == 0 {
            1.0
        } else {
            self.cells[i - 1] as f64
        }
    }

    /// The first time (s) the lineage holds at least `n` cells: an event of
    /// the stochastic phase, or the closed form of the deterministic one.
    pub fn time_to(&self, n: f64) -> f64 {
        if n > self.switch_cells as f64 {
            return self.switch_time + (n / self.switch_cells as f64).ln() / self.rate;
        }
        let i = self.cells.iter().position(|&c| c as f64 >= n);
        i.map_or(self.switch_time, |i| self.times[i])
    }
}

impl BranchingProcess {
    /// Probability that the lineage of one cell never dies out: 1 − d/b when
    /// b > d, else 0.
    pub fn survival_probability(&self) -> f64 {
        if self.birth > self.death {
            1.0 - self.death / self.birth
        } else {
            0.0
        }
    }

    /// Net exponential rate b − d (1/s) of the mean population.
    pub fn net_rate(&self) -> f64 {
        self.birth - self.death
    }

    /// Simulates one lineage from one cell exactly (Gillespie) until it dies
    /// out or first reaches `size` cells. No allocation.
    pub fn run_until<R: Rng + ?Sized>(&self, rng: &mut R, size: u64) -> LineageFate {
        self.gillespie(rng, size, |_, _| {})
    }

    /// Gillespie simulation calling `record(t, n)` after every event.
    fn gillespie<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        size: u64,
        mut record: impl FnMut(f64, u64),
    ) -> LineageFate {
        let total = self.birth + self.death;
        let p_birth = self.birth / total;
        let mut n: u64 = 1;
        let mut t = 0.0;
        loop {
            if n >= size {
                return LineageFate::Reached { time: t };
            }
            let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
            t += -u.ln() / (total * n as f64);
            if rng.random::<f64>() < p_birth {
                n += 1;
            } else {
                n -= 1;
            }
            record(t, n);
            if n == 0 {
                return LineageFate::Extinct { time: t };
            }
        }
    }

    /// The path of one lineage from one cell *conditioned on survival*:
    /// lineages that die out before reaching `switch_cells` are discarded
    /// and a new one is drawn from the same stream (rejection sampling, so
    /// the kept path has exactly the conditional law; on average 1/(1 − d/b)
    /// attempts). The stochastic phase is simulated exactly (Gillespie)
    /// until `switch_cells` (e.g. [`SWITCH_CELLS`]); beyond it the lineage
    /// grows deterministically at the mean rate b − d, neglecting both the
    /// residual extinction probability (d/b)^switch_cells and fluctuations of
    /// relative size ~1/√switch_cells. Returns `None` when b ≤ d (no
    /// lineage survives) or `switch_cells` is 0.
    pub fn surviving_lineage<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        switch_cells: u64,
    ) -> Option<Lineage> {
        if self.birth <= self.death || self.death < 0.0 || switch_cells == 0 {
            return None;
        }
        let mut times = Vec::new();
        let mut cells = Vec::new();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            times.clear();
            cells.clear();
            times.push(0.0);
            cells.push(1);
            let fate = self.gillespie(rng, switch_cells, |t, n| {
                times.push(t);
                cells.push(n);
            });
            if let LineageFate::Reached { time } = fate {
                return Some(Lineage {
                    times,
                    cells,
                    switch_time: time,
                    switch_cells,
                    rate: self.net_rate(),
                    attempts,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diameter_round_trip() {
        let n = cells_for_diameter(0.01, CELLS_PER_M3);
        assert!((n - 5.235987755982989e8).abs() / n < 1e-12);
        assert!((diameter(n, CELLS_PER_M3) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn time_to_inverts_cells() {
        for law in [
            GrowthLaw::Exponential { rate: 1e-6 },
            GrowthLaw::Logistic {
                rate: 1e-6,
                capacity: 1e12,
            },
            GrowthLaw::Gompertz {
                rate: 1e-7,
                capacity: 1e12,
            },
        ] {
            let t = law.time_to(1e3, 1e9).unwrap();
            let n = law.cells(1e3, t);
            assert!((n - 1e9).abs() / 1e9 < 1e-10, "{law:?}: {n}");
            assert_eq!(law.time_to(1e3, 1e2), Some(0.0));
        }
        let bounded = GrowthLaw::Gompertz {
            rate: 1e-7,
            capacity: 1e12,
        };
        assert_eq!(bounded.time_to(1.0, 2e12), None);
    }

    #[test]
    fn lineage_is_continuous_at_the_switch() {
        let bp = BranchingProcess {
            birth: 1.0,
            death: 0.3,
        };
        let mut rng = crate::random::stream(1, 2, 3);
        let l = bp.surviving_lineage(&mut rng, 200).unwrap();
        assert_eq!(*l.cells.last().unwrap(), 200);
        assert_eq!(l.cells_at(l.switch_time), 200.0);
        assert_eq!(l.cells_at(0.0), 1.0);
        assert!(bp.surviving_lineage(&mut rng, 0).is_none());
    }
}
