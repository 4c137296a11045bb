//! A variable-order (1 to 5), variable-step BDF integrator for small dense
//! stiff systems: the body engine's compartment networks.
//!
//! The method is the quasi-constant step size BDF/NDF of Shampine and Reichelt
//! (SIAM J. Sci. Comput. 18, 1997; the algorithm of MATLAB's `ode15s`, SciPy's
//! `BDF` and diffsol's `Bdf`): the solution history is kept as backward
//! differences, rescaled when the step changes; each step solves the
//! implicit equation by a simplified Newton iteration on `I − cJ`; the local
//! error is estimated from the corrector's correction, and the order and step
//! that maximise the next step are chosen every `order + 1` steps.
//!
//! It exists because a general solver's per-step machinery (vectors behind
//! traits, Jacobians assembled column by column from products, statistics,
//! checks for features this engine never uses) cost more than the arithmetic
//! of a 23-state network: with the Jacobian assembled directly from the
//! network's fluxes, the Newton matrix refactorised only when the step moved
//! by more than 30 %, and every buffer allocated once, a mouse study runs in
//! a fraction of the time (`cargo bench -p exosim --bench body`).

use super::dense_lu::DenseLu;

/// Highest order: BDF is not zero-stable above 6, and the NDF of order 5
/// already has a stability angle of 51°.
pub const MAX_ORDER: usize = 5;

/// A stiff system `y' = f(y)` with its Jacobian.
pub trait StiffSystem {
    /// `dy = f(y)`.
    fn rhs(&self, y: &[f64], dy: &mut [f64]);
    /// The Jacobian `∂f_i/∂y_j` at `y`, column-major (`jac[j * n + i]`),
    /// every entry written.
    fn jacobian(&self, y: &[f64], jac: &mut [f64]);
}

/// Work done, summed over the integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BdfStats {
    /// Accepted steps.
    pub steps: usize,
    /// Steps rejected by the error test or a failed Newton iteration.
    pub rejected: usize,
    /// Jacobian evaluations.
    pub jacobians: usize,
    /// LU factorisations of the Newton matrix.
    pub factorisations: usize,
    /// Newton iterations, one linear solve and one `f` evaluation each.
    pub newton_iterations: usize,
}

/// Why a step could not be taken.
#[derive(Debug, Clone, PartialEq)]
pub struct BdfError {
    /// Time reached, s.
    pub time: f64,
    /// What went wrong.
    pub message: String,
}

/// Newton iterations allowed per attempt.
const NEWTON_MAX_ITER: usize = 4;
/// The iteration has converged once its estimated remaining error is this
/// fraction of the error tolerance (the weighted norm's unit).
const NEWTON_TOL: f64 = 0.2;
/// The Newton matrix is refactorised when `c = h / α_k` has moved by more
/// than this fraction since its factorisation, or after this many steps.
const NEWTON_MATRIX_DRIFT: f64 = 0.3;
const NEWTON_MATRIX_MAX_AGE: usize = 20;
/// The Jacobian is re-evaluated after this many steps even when the Newton
/// iteration still converges with the old one.
const JACOBIAN_MAX_AGE: usize = 50;
/// Bounds on the step size change after an accepted step: growth below
/// `MIN_GROWTH` keeps the step (and the factorised Newton matrix); growth
/// beyond `MAX_GROWTH` outruns the difference history's accuracy.
const MIN_GROWTH: f64 = 1.1;
const MAX_GROWTH: f64 = 3.0;
/// A step is never cut by more than this factor after an error test failure.
const MIN_SHRINK: f64 = 0.2;
/// A shrink smaller than this is not worth a rescale.
const MAX_SHRINK: f64 = 0.9;
/// Step cut after a Newton failure with a fresh Jacobian.
const NEWTON_FAIL_SHRINK: f64 = 0.3;

/// Contraction estimate after a change of step: large, so that the next
/// iteration stops after one correction only if that correction is tiny.
const FRESH_ETA: f64 = 316.227_766_016_837_94;

/// The integrator's state and work buffers: everything is allocated by
/// [`Bdf::new`], so stepping allocates nothing.
pub struct Bdf {
    n: usize,
    t: f64,
    t_stop: f64,
    h: f64,
    order: usize,
    rtol: f64,
    atol: Vec<f64>,
    /// Backward differences `D^j y_n`, `j = 0..=MAX_ORDER + 2`, one row of
    /// `n` each (row 0 is the solution itself).
    diff: Vec<f64>,
    /// Scratch for the rescale of `diff`.
    diff_tmp: Vec<f64>,
    jac: Vec<f64>,
    /// The Jacobian was evaluated during the current step attempt.
    jac_fresh: bool,
    jac_age: usize,
    lu: DenseLu,
    /// `c` of the factorised Newton matrix; NaN when none is valid.
    lu_c: f64,
    lu_age: usize,
    /// Estimated contraction `rate / (1 − rate)` of the Newton iteration,
    /// carried from step to step so that a fast iteration can stop after one
    /// correction.
    eta: f64,
    n_equal_steps: usize,
    y_predict: Vec<f64>,
    y_new: Vec<f64>,
    psi: Vec<f64>,
    scale: Vec<f64>,
    f: Vec<f64>,
    dy: Vec<f64>,
    /// `y_new − y_predict`, the Newton correction summed.
    d: Vec<f64>,
    gamma: [f64; MAX_ORDER + 2],
    alpha: [f64; MAX_ORDER + 2],
    error_const: [f64; MAX_ORDER + 2],
    /// Work done so far.
    pub stats: BdfStats,
}

/// Root-mean-square of `v / scale`.
fn rms(v: &[f64], scale: &[f64]) -> f64 {
    let s: f64 = v
        .iter()
        .zip(scale)
        .map(|(x, w)| {
            let r = x / w;
            r * r
        })
        .sum();
    (s / v.len().max(1) as f64).sqrt()
}

/// `R` of Shampine and Reichelt (eq. 2.12): the map of backward differences
/// of the interpolant from step `h` to step `factor · h`, order `order`.
fn compute_r(order: usize, factor: f64, r: &mut [[f64; MAX_ORDER + 1]; MAX_ORDER + 1]) {
    for j in 0..=order {
        r[0][j] = 1.0;
    }
    for i in 1..=order {
        r[i][0] = 0.0;
        for j in 1..=order {
            r[i][j] = r[i - 1][j] * ((i - 1) as f64 - factor * j as f64) / i as f64;
        }
    }
}

impl Bdf {
    /// Buffers for a system of `n` states.
    pub fn new(n: usize) -> Self {
        // NDF coefficients (Shampine & Reichelt, table 1); κ = 0 at order 5
        // where the NDF would lose too much stability.
        let kappa = [0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0, 0.0];
        let mut gamma = [0.0; MAX_ORDER + 2];
        let mut alpha = [0.0; MAX_ORDER + 2];
        let mut error_const = [0.0; MAX_ORDER + 2];
        for k in 1..MAX_ORDER + 2 {
            gamma[k] = gamma[k - 1] + 1.0 / k as f64;
        }
        for k in 0..MAX_ORDER + 2 {
            alpha[k] = (1.0 - kappa[k]) * gamma[k];
            error_const[k] = kappa[k] * gamma[k] + 1.0 / (k + 1) as f64;
        }
        Bdf {
            n,
            t: 0.0,
            t_stop: 0.0,
            h: 0.0,
            order: 1,
            rtol: 0.0,
            atol: vec![0.0; n],
            diff: vec![0.0; (MAX_ORDER + 3) * n],
            diff_tmp: vec![0.0; (MAX_ORDER + 1) * n],
            jac: vec![0.0; n * n],
            jac_fresh: false,
            jac_age: 0,
            lu: DenseLu::new(n),
            lu_c: f64::NAN,
            lu_age: 0,
            eta: 0.0,
            n_equal_steps: 0,
            y_predict: vec![0.0; n],
            y_new: vec![0.0; n],
            psi: vec![0.0; n],
            scale: vec![0.0; n],
            f: vec![0.0; n],
            dy: vec![0.0; n],
            d: vec![0.0; n],
            gamma,
            alpha,
            error_const,
            stats: BdfStats::default(),
        }
    }

    /// Current time.
    pub fn t(&self) -> f64 {
        self.t
    }

    /// Current state.
    pub fn y(&self) -> &[f64] {
        &self.diff[..self.n]
    }

    /// Current order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Step size the next step will try.
    pub fn step_size(&self) -> f64 {
        self.h
    }

    /// Starts an integration from `y0` at `t0` towards `t_stop`, at order 1
    /// with the initial step of Hairer, Nørsett & Wanner (II.4), as SciPy
    /// selects it. Tolerances: `|error_i| ≤ atol_i + rtol |y_i|` in the RMS.
    pub fn start(
        &mut self,
        sys: &impl StiffSystem,
        t0: f64,
        y0: &[f64],
        t_stop: f64,
        rtol: f64,
        atol: &[f64],
    ) {
        let n = self.n;
        assert_eq!(y0.len(), n, "initial state of the wrong length");
        assert_eq!(atol.len(), n, "absolute tolerances of the wrong length");
        self.t = t0;
        self.t_stop = t_stop;
        self.rtol = rtol;
        self.atol.copy_from_slice(atol);
        self.order = 1;
        self.n_equal_steps = 0;
        self.diff.fill(0.0);
        self.diff[..n].copy_from_slice(y0);
        sys.rhs(y0, &mut self.f);
        self.h = self.initial_step(sys, y0);
        let h = self.h;
        for (d1, f) in self.diff[n..2 * n].iter_mut().zip(&self.f) {
            *d1 = h * f;
        }
        sys.jacobian(y0, &mut self.jac);
        self.stats.jacobians += 1;
        self.jac_fresh = true;
        self.jac_age = 0;
        self.lu_c = f64::NAN;
        // A large first contraction estimate: the first step converges only
        // on a small correction.
        self.eta = FRESH_ETA;
    }

    /// Initial step; `self.f` holds `f(y0)`.
    fn initial_step(&mut self, sys: &impl StiffSystem, y0: &[f64]) -> f64 {
        let interval = self.t_stop - self.t;
        if interval <= 0.0 || self.n == 0 {
            return interval.max(0.0);
        }
        for ((s, a), y) in self.scale.iter_mut().zip(&self.atol).zip(y0) {
            *s = a + self.rtol * y.abs();
        }
        let d0 = rms(y0, &self.scale);
        let d1 = rms(&self.f, &self.scale);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        }
        .min(interval);
        for ((y1, y), f) in self.y_new.iter_mut().zip(y0).zip(&self.f) {
            *y1 = y + h0 * f;
        }
        sys.rhs(&self.y_new, &mut self.dy);
        for (df, f) in self.dy.iter_mut().zip(&self.f) {
            *df -= f;
        }
        let d2 = rms(&self.dy, &self.scale) / h0;
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).sqrt()
        };
        (100.0 * h0).min(h1).min(interval)
    }

    /// Rescales the difference history from step `h` to `factor · h`.
    fn rescale(&mut self, factor: f64) {
        let order = self.order;
        let n = self.n;
        let mut r = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        let mut u = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        compute_r(order, factor, &mut r);
        compute_r(order, 1.0, &mut u);
        // RU = R · U; D[0..=order] ← RUᵀ D[0..=order].
        let mut ru = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        for i in 0..=order {
            for j in 0..=order {
                ru[i][j] = (0..=order).map(|k| r[i][k] * u[k][j]).sum();
            }
        }
        self.diff_tmp[..(order + 1) * n].copy_from_slice(&self.diff[..(order + 1) * n]);
        for j in 0..=order {
            let row = &mut self.diff[j * n..(j + 1) * n];
            row.fill(0.0);
            for (k, ru_k) in ru.iter().enumerate().take(order + 1) {
                let w = ru_k[j];
                if w != 0.0 {
                    let src = &self.diff_tmp[k * n..(k + 1) * n];
                    for (x, s) in row.iter_mut().zip(src) {
                        *x += w * s;
                    }
                }
            }
        }
        self.h *= factor;
        self.n_equal_steps = 0;
    }

    /// Factorises `I − cJ`.
    fn factorise(&mut self, c: f64) -> Result<(), BdfError> {
        let n = self.n;
        let m = self.lu.matrix_mut();
        for (mj, jj) in m.iter_mut().zip(&self.jac) {
            *mj = -c * jj;
        }
        for i in 0..n {
            m[i * n + i] += 1.0;
        }
        self.lu.factorise();
        self.stats.factorisations += 1;
        self.lu_c = c;
        self.lu_age = 0;
        if !self.lu.is_regular() {
            self.lu_c = f64::NAN;
            return Err(BdfError {
                time: self.t,
                message: format!("singular Newton matrix with step {:e} s", self.h),
            });
        }
        Ok(())
    }

    /// Solves the implicit equation `d − c f(y_predict + d) + ψ = 0` for the
    /// correction `d`, from `y_predict`; true when the iteration converged.
    fn newton(&mut self, sys: &impl StiffSystem, c: f64) -> bool {
        self.y_new.copy_from_slice(&self.y_predict);
        self.d.fill(0.0);
        let mut first_norm = 0.0;
        for iter in 1..=NEWTON_MAX_ITER {
            sys.rhs(&self.y_new, &mut self.f);
            self.stats.newton_iterations += 1;
            for (((r, f), p), d) in self.dy.iter_mut().zip(&self.f).zip(&self.psi).zip(&self.d) {
                *r = c * f - p - d;
            }
            if !self.dy.iter().all(|x| x.is_finite()) {
                return false;
            }
            self.lu.solve(&mut self.dy);
            let norm = rms(&self.dy, &self.scale);
            for ((y, d), dy) in self.y_new.iter_mut().zip(self.d.iter_mut()).zip(&self.dy) {
                *y += dy;
                *d += dy;
            }
            if iter == 1 {
                first_norm = norm;
                self.eta = self.eta.max(1e4 * f64::EPSILON).powf(0.8);
            } else {
                let rate = (norm / first_norm).powf(1.0 / (iter - 1) as f64);
                if rate > 0.9 {
                    return false;
                }
                if rate.powi((NEWTON_MAX_ITER - iter) as i32) / (1.0 - rate) * norm > NEWTON_TOL {
                    return false;
                }
                self.eta = rate / (1.0 - rate);
            }
            if norm == 0.0 || self.eta * norm < NEWTON_TOL {
                return true;
            }
        }
        false
    }

    /// Takes one accepted step, never past the stop time; true once the stop
    /// time is reached.
    pub fn step(&mut self, sys: &impl StiffSystem) -> Result<bool, BdfError> {
        let n = self.n;
        if self.t >= self.t_stop {
            return Ok(true);
        }
        self.jac_fresh = self.jac_age == 0;
        loop {
            let min_step = 10.0 * (self.t.abs() * f64::EPSILON).max(f64::MIN_POSITIVE);
            if !(self.h >= min_step) {
                return Err(BdfError {
                    time: self.t,
                    message: format!("step size {:e} s below the resolution of time", self.h),
                });
            }
            // Land on the stop time exactly, stretching the step by at most
            // a trifle rather than leaving a sliver for one more step.
            let remaining = self.t_stop - self.t;
            let lands = self.h * (1.0 + 1e-3) >= remaining;
            if lands && self.h != remaining {
                self.rescale(remaining / self.h);
                self.eta = FRESH_ETA;
            }
            let order = self.order;
            let t_new = if lands { self.t_stop } else { self.t + self.h };
            // Predictor, error weights, and the history term ψ.
            self.y_predict.copy_from_slice(&self.diff[..n]);
            self.psi.fill(0.0);
            for j in 1..=order {
                let row = &self.diff[j * n..(j + 1) * n];
                let g = self.gamma[j] / self.alpha[order];
                for ((yp, p), x) in self.y_predict.iter_mut().zip(self.psi.iter_mut()).zip(row) {
                    *yp += x;
                    *p += g * x;
                }
            }
            for ((s, a), y) in self.scale.iter_mut().zip(&self.atol).zip(&self.y_predict) {
                *s = a + self.rtol * y.abs();
            }
            let c = self.h / self.alpha[order];
            if !(((c / self.lu_c) - 1.0).abs() <= NEWTON_MATRIX_DRIFT)
                || self.lu_age >= NEWTON_MATRIX_MAX_AGE
            {
                self.factorise(c)?;
            }
            if !self.newton(sys, c) {
                self.stats.rejected += 1;
                if !self.jac_fresh {
                    // Retry the same step with a Jacobian at the prediction.
                    sys.jacobian(&self.y_predict, &mut self.jac);
                    self.stats.jacobians += 1;
                    self.jac_fresh = true;
                    self.jac_age = 0;
                    self.factorise(c)?;
                } else if self.lu_c != c {
                    self.factorise(c)?;
                } else {
                    self.rescale(NEWTON_FAIL_SHRINK);
                    self.eta = FRESH_ETA;
                }
                continue;
            }
            for ((s, a), y) in self.scale.iter_mut().zip(&self.atol).zip(&self.y_new) {
                *s = a + self.rtol * y.abs();
            }
            let error_norm = self.error_const[order] * rms(&self.d, &self.scale);
            if error_norm > 1.0 {
                self.stats.rejected += 1;
                let factor = (0.9 * error_norm.powf(-1.0 / (order + 1) as f64)).max(MIN_SHRINK);
                self.rescale(factor.min(MAX_SHRINK));
                self.eta = FRESH_ETA;
                continue;
            }
            // Accept: D^{k+2} = d − D^{k+1}, D^{k+1} = d, D^j += D^{j+1}.
            {
                let (low, high) = self.diff.split_at_mut((order + 2) * n);
                let dk1 = &mut low[(order + 1) * n..];
                let dk2 = &mut high[..n];
                for ((x2, x1), d) in dk2.iter_mut().zip(dk1.iter_mut()).zip(&self.d) {
                    *x2 = d - *x1;
                    *x1 = *d;
                }
            }
            for j in (0..=order).rev() {
                let (low, high) = self.diff.split_at_mut((j + 1) * n);
                for (x, y) in low[j * n..].iter_mut().zip(&high[..n]) {
                    *x += y;
                }
            }
            self.t = t_new;
            self.stats.steps += 1;
            self.lu_age += 1;
            self.jac_age += 1;
            self.n_equal_steps += 1;
            if self.t >= self.t_stop {
                return Ok(true);
            }
            if self.n_equal_steps > order {
                self.adapt(order, error_norm);
            }
            if self.jac_age >= JACOBIAN_MAX_AGE {
                sys.jacobian(&self.diff[..n], &mut self.jac);
                self.stats.jacobians += 1;
                self.jac_age = 0;
                self.lu_c = f64::NAN;
            }
            return Ok(false);
        }
    }

    /// After `order + 1` steps at the same order and step: the order among
    /// `order − 1`, `order`, `order + 1` that allows the longest next step,
    /// and that step. `self.scale` holds the weights at the new state.
    fn adapt(&mut self, order: usize, error_norm: f64) {
        let n = self.n;
        let factor_of = |err: f64, k: usize| err.powf(-1.0 / (k + 1) as f64);
        let down = if order > 1 {
            let e = self.error_const[order - 1]
                * rms(&self.diff[order * n..(order + 1) * n], &self.scale);
            factor_of(e, order - 1)
        } else {
            0.0
        };
        let up = if order < MAX_ORDER {
            let e = self.error_const[order + 1]
                * rms(&self.diff[(order + 2) * n..(order + 3) * n], &self.scale);
            factor_of(e, order + 1)
        } else {
            0.0
        };
        let same = factor_of(error_norm, order);
        let (new_order, best) = if down > same && down >= up {
            (order - 1, down)
        } else if up > same {
            (order + 1, up)
        } else {
            (order, same)
        };
        let factor = (0.9 * best).clamp(MIN_SHRINK, MAX_GROWTH);
        self.order = new_order;
        if new_order != order || factor >= MIN_GROWTH || factor <= MAX_SHRINK {
            self.rescale(factor);
            self.eta = FRESH_ETA;
        }
    }

    /// The solution at `t` inside the last step, from the interpolating
    /// polynomial of the difference history (order `order` accuracy).
    pub fn interpolate(&self, t: f64, out: &mut [f64]) {
        let n = self.n;
        out.copy_from_slice(&self.diff[..n]);
        let mut p = 1.0;
        for j in 1..=self.order {
            p *= (t - (self.t - self.h * (j - 1) as f64)) / (self.h * j as f64);
            let row = &self.diff[j * n..(j + 1) * n];
            for (o, x) in out.iter_mut().zip(row) {
                *o += p * x;
            }
        }
    }
}
