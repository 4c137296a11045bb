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

use super::dense_lu::{DenseLu, WORK};

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
    /// Where the Jacobian may be non-zero, for any state (column-major,
    /// like [`StiffSystem::jacobian`]): the LU factorisation plans its
    /// elimination on it once. Dense unless a system says otherwise.
    fn pattern(&self, pattern: &mut [bool]) {
        pattern.fill(true);
    }
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
    /// Evaluations of `f`: the Newton iterations' and the two of each start
    /// (`f(y0)` and the initial-step estimate).
    pub rhs_evaluations: usize,
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
/// than this fraction since its factorisation (and with each new Jacobian).
const NEWTON_MATRIX_DRIFT: f64 = 0.3;
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
    jac: Vec<f64>,
    /// The Jacobian was evaluated during the current step attempt.
    jac_fresh: bool,
    jac_age: usize,
    lu: DenseLu,
    /// `c` of the factorised Newton matrix; NaN when none is valid.
    lu_c: f64,
    /// Estimated contraction `rate / (1 − rate)` of the Newton iteration,
    /// carried from step to step so that a fast iteration can stop after one
    /// correction.
    eta: f64,
    /// `(0.9 / MIN_GROWTH)^(k+1)` for each order `k`: an error norm above it
    /// keeps the step at that order.
    keep_threshold: [f64; MAX_ORDER + 1],
    /// `FRESH_ETA^0.8`, the first iteration's damping of a fresh estimate.
    fresh_eta_damped: f64,
    n_equal_steps: usize,
    y_predict: Vec<f64>,
    y_new: Vec<f64>,
    psi: Vec<f64>,
    /// Error weights `1 / (atol_i + rtol |y_i|)`: the weighted RMS norm
    /// is 1 at the tolerance.
    weight: Vec<f64>,
    f: Vec<f64>,
    /// The Newton residual, then its correction: `n` entries, padded to
    /// the length at which the LU solves in place.
    dy: Vec<f64>,
    /// `y_new − y_predict`, the Newton correction summed.
    d: Vec<f64>,
    gamma: [f64; MAX_ORDER + 2],
    alpha: [f64; MAX_ORDER + 2],
    error_const: [f64; MAX_ORDER + 2],
    /// `U = R(order, 1)` for each order: the rescale's fixed half.
    u_tables: [[[f64; MAX_ORDER + 1]; MAX_ORDER + 1]; MAX_ORDER + 1],
    /// Tests of the method's order: every step accepted at a constant
    /// step and order.
    fixed: bool,
    /// Work done so far.
    pub stats: BdfStats,
}

/// `Σ (v_i w_i)²` in four interleaved partial sums: a single running sum
/// is a chain of dependent additions, one per state, that the processor
/// cannot overlap; four chains run side by side (and vectorise).
fn weighted_sum_sq(v: &[f64], w: &[f64]) -> f64 {
    let n = v.len().min(w.len());
    let (v, w) = (v[..n].chunks_exact(4), w[..n].chunks_exact(4));
    let (v_rest, w_rest) = (v.remainder(), w.remainder());
    let mut acc = [0.0; 4];
    for (a, b) in v.zip(w) {
        for k in 0..4 {
            let r = a[k] * b[k];
            acc[k] += r * r;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (a, b) in v_rest.iter().zip(w_rest) {
        let r = a * b;
        s += r * r;
    }
    s
}

/// Root-mean-square of `v_i w_i`.
fn rms(v: &[f64], weight: &[f64]) -> f64 {
    let n = v.len();
    (weighted_sum_sq(v, &weight[..n]) / n.max(1) as f64).sqrt()
}

/// `weight_i = 1 / (atol_i + rtol |y_i|)`.
fn set_weights(weight: &mut [f64], atol: &[f64], rtol: f64, y: &[f64]) {
    let n = weight.len();
    let (atol, y) = (&atol[..n], &y[..n]);
    for i in 0..n {
        weight[i] = 1.0 / (atol[i] + rtol * y[i].abs());
    }
}

/// `R` of Shampine and Reichelt (eq. 2.12): the map of backward differences
/// of the interpolant from step `h` to step `factor · h`, order `order`.
#[allow(clippy::needless_range_loop)] // indices as in the paper's formula
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

/// The predictor's pass at order `K`: `y_p = Σ_{j ≤ K} D_j`,
/// `ψ = Σ_{1 ≤ j ≤ K} g_j D_j` and the error weights at `y_p`.
struct Predict<'a> {
    diff: &'a [f64],
    atol: &'a [f64],
    rtol: f64,
    g: &'a [f64; MAX_ORDER + 1],
    yp: &'a mut [f64],
    psi: &'a mut [f64],
    weight: &'a mut [f64],
}

impl Predict<'_> {
    /// One pass over the states, every row sliced to exactly `n` entries so
    /// that the indexing needs no bounds checks and the pass vectorises.
    fn run<const K: usize>(self) {
        let n = self.yp.len();
        let d0 = &self.diff[..n];
        let rows: [&[f64]; K] = std::array::from_fn(|j| &self.diff[(j + 1) * n..][..n]);
        let (yp, psi, weight, atol) = (
            &mut self.yp[..n],
            &mut self.psi[..n],
            &mut self.weight[..n],
            &self.atol[..n],
        );
        let g = self.g;
        for i in 0..n {
            let x = rows[0][i];
            let mut y = d0[i] + x;
            let mut p = g[1] * x;
            for j in 1..K {
                let x = rows[j][i];
                y += x;
                p += g[j + 1] * x;
            }
            yp[i] = y;
            psi[i] = p;
            weight[i] = 1.0 / (atol[i] + self.rtol * y.abs());
        }
    }
}

/// States handled side by side in the passes over the difference rows.
const LANES: usize = 4;

/// `1 / j`, so that interpolation weights multiply.
const RECIPROCALS: [f64; MAX_ORDER + 1] = [0.0, 1.0, 0.5, 1.0 / 3.0, 0.25, 0.2];

/// `out = D_0 + Σ_{1 ≤ j ≤ K} p_j D_j` in one pass over the states (rows
/// sliced to `n` entries, so without bounds checks).
fn interpolate_rows<const K: usize>(diff: &[f64], p: &[f64; MAX_ORDER + 1], out: &mut [f64]) {
    let n = out.len();
    let d0 = &diff[..n];
    let rows: [&[f64]; K] = std::array::from_fn(|j| &diff[(j + 1) * n..][..n]);
    let at = |i: usize| {
        let mut v = d0[i];
        for j in 0..K {
            v += p[j + 1] * rows[j][i];
        }
        v
    };
    // `LANES` states at a time as arrays, so that the pass is vectorised
    // for any `n` (a plain loop over 23 states stays scalar behind the
    // compiler's overlap checks); the same operations per state.
    let whole = n - n % LANES;
    for (i, o) in (0..whole).step_by(LANES).zip(out.chunks_exact_mut(LANES)) {
        let v: [f64; LANES] = std::array::from_fn(|l| at(i + l));
        o.copy_from_slice(&v);
    }
    for (i, o) in out.iter_mut().enumerate().skip(whole) {
        *o = at(i);
    }
}

/// `D_j ← Σ_k (RU)_{kj} D_k` for `j, k = 1..=K` in one pass over the
/// states: `rows` holds `D_1..D_K`, `n` states each.
#[allow(clippy::needless_range_loop)] // indices as in the paper's formula
fn rescale_rows<const K: usize>(
    rows: &mut [f64],
    n: usize,
    ru: &[[f64; MAX_ORDER + 1]; MAX_ORDER + 1],
) {
    // Each row as its own slice of exactly `n`: no bounds checks, and the
    // states' independent updates vectorise.
    let mut chunks = rows[..K * n].chunks_exact_mut(n);
    let rows: [&mut [f64]; K] = std::array::from_fn(|_| chunks.next().expect("K rows of n states"));
    let new = |x: &[f64; K], j: usize| {
        let mut v = ru[1][j] * x[0];
        for k in 2..=K {
            v += ru[k][j] * x[k - 1];
        }
        v
    };
    // `LANES` states at a time (see `interpolate_rows`).
    let whole = n - n % LANES;
    for i in (0..whole).step_by(LANES) {
        let x: [[f64; K]; LANES] = std::array::from_fn(|l| std::array::from_fn(|k| rows[k][i + l]));
        for j in 1..=K {
            let v: [f64; LANES] = std::array::from_fn(|l| new(&x[l], j));
            rows[j - 1][i..i + LANES].copy_from_slice(&v);
        }
    }
    for i in whole..n {
        let x: [f64; K] = std::array::from_fn(|k| rows[k][i]);
        for j in 1..=K {
            rows[j - 1][i] = new(&x, j);
        }
    }
}

/// The difference history after an accepted step at order `K`, in one
/// pass over the states: `D_{K+2} = d − D_{K+1}`, `D_{K+1} = d`, then
/// `D_j += D_{j+1}` from `j = K` down to 0. Each state's column is summed in
/// registers: row by row, every row would wait on the one just stored.
#[allow(clippy::needless_range_loop)] // one index over parallel rows
fn accept_rows<const K: usize>(rows: &mut [f64], n: usize, d: &[f64]) {
    let d = &d[..n];
    let (d0, rest) = rows.split_at_mut(n);
    let (middle, top) = rest.split_at_mut(K * n);
    let (dk1, dk2) = top.split_at_mut(n);
    let (d0, dk1, dk2) = (&mut d0[..n], &mut dk1[..n], &mut dk2[..n]);
    let mut chunks = middle.chunks_exact_mut(n);
    let middle: [&mut [f64]; K] = std::array::from_fn(|_| {
        let row = chunks.next().expect("K rows of n states");
        &mut row[..n]
    });
    // `LANES` states at a time (see `interpolate_rows`), then the rest.
    let whole = n - n % LANES;
    for i in (0..whole).step_by(LANES) {
        let di: [f64; LANES] = d[i..i + LANES].try_into().expect("LANES states");
        let old: [f64; LANES] = dk1[i..i + LANES].try_into().expect("LANES states");
        let top: [f64; LANES] = std::array::from_fn(|l| di[l] - old[l]);
        dk2[i..i + LANES].copy_from_slice(&top);
        dk1[i..i + LANES].copy_from_slice(&di);
        let mut above = di;
        for j in (0..K).rev() {
            let row = &mut middle[j][i..i + LANES];
            for l in 0..LANES {
                above[l] += row[l];
            }
            row.copy_from_slice(&above);
        }
        for l in 0..LANES {
            d0[i + l] += above[l];
        }
    }
    for i in whole..n {
        let di = d[i];
        dk2[i] = di - dk1[i];
        dk1[i] = di;
        let mut above = di;
        for j in (0..K).rev() {
            above += middle[j][i];
            middle[j][i] = above;
        }
        d0[i] += above;
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
        let mut u_tables = [[[0.0; MAX_ORDER + 1]; MAX_ORDER + 1]; MAX_ORDER + 1];
        for (order, u) in u_tables.iter_mut().enumerate() {
            compute_r(order, 1.0, u);
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
            jac: vec![0.0; n * n],
            jac_fresh: false,
            jac_age: 0,
            lu: DenseLu::new(n),
            lu_c: f64::NAN,
            eta: 0.0,
            fresh_eta_damped: FRESH_ETA.powf(0.8),
            keep_threshold: std::array::from_fn(|k| (0.9 / MIN_GROWTH).powi(k as i32 + 1)),
            n_equal_steps: 0,
            y_predict: vec![0.0; n],
            y_new: vec![0.0; n],
            psi: vec![0.0; n],
            weight: vec![0.0; n],
            f: vec![0.0; n],
            // Long enough for the LU to solve in place (see `DenseLu::solve`).
            dy: vec![0.0; n.max(WORK)],
            d: vec![0.0; n],
            gamma,
            alpha,
            error_const,
            u_tables,
            fixed: false,
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
        self.stats.rhs_evaluations += 1;
        self.h = self.initial_step(sys, y0);
        let h = self.h;
        for (d1, f) in self.diff[n..2 * n].iter_mut().zip(&self.f) {
            *d1 = h * f;
        }
        let mut pattern = vec![false; n * n];
        sys.pattern(&mut pattern);
        self.lu.analyse(&pattern);
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
        let n = self.n;
        let interval = self.t_stop - self.t;
        if interval <= 0.0 || n == 0 {
            return interval.max(0.0);
        }
        set_weights(&mut self.weight, &self.atol, self.rtol, y0);
        let d0 = rms(y0, &self.weight);
        let d1 = rms(&self.f, &self.weight);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        }
        .min(interval);
        for ((y1, y), f) in self.y_new.iter_mut().zip(y0).zip(&self.f) {
            *y1 = y + h0 * f;
        }
        sys.rhs(&self.y_new, &mut self.dy[..n]);
        self.stats.rhs_evaluations += 1;
        for (df, f) in self.dy[..n].iter_mut().zip(&self.f) {
            *df -= f;
        }
        let d2 = rms(&self.dy[..n], &self.weight) / h0;
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).sqrt()
        };
        (100.0 * h0).min(h1).min(interval)
    }

    /// Rescales the difference history from step `h` to `factor · h`:
    /// `D ← (RU)ᵀ D` (Shampine & Reichelt, eq. 2.12). Row 0 (the solution)
    /// is unchanged and does not enter the others, since `(RU)_{k0} = δ_k0`
    /// and `(RU)_{0j} = 0` for `j ≥ 1`.
    #[allow(clippy::needless_range_loop)] // indices as in the paper's formula
    fn rescale(&mut self, factor: f64) {
        let order = self.order;
        let n = self.n;
        let mut r = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        compute_r(order, factor, &mut r);
        let u = &self.u_tables[order];
        let mut ru = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
        for i in 1..=order {
            for j in 1..=order {
                let mut x = 0.0;
                for k in 1..=order {
                    x += r[i][k] * u[k][j];
                }
                ru[i][j] = x;
            }
        }
        let rows = &mut self.diff[n..(order + 1) * n];
        match order {
            1 => rescale_rows::<1>(rows, n, &ru),
            2 => rescale_rows::<2>(rows, n, &ru),
            3 => rescale_rows::<3>(rows, n, &ru),
            4 => rescale_rows::<4>(rows, n, &ru),
            _ => rescale_rows::<5>(rows, n, &ru),
        }
        self.h *= factor;
        self.n_equal_steps = 0;
    }

    /// Factorises `I − cJ`.
    fn factorise(&mut self, c: f64) -> Result<(), BdfError> {
        let n = self.n;
        let jac = &self.jac;
        self.lu.factorise_with(|m| {
            for (mj, jj) in m.iter_mut().zip(jac) {
                *mj = -c * jj;
            }
            for i in 0..n {
                m[i * n + i] += 1.0;
            }
        });
        self.stats.factorisations += 1;
        self.lu_c = c;
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
        let n = self.n;
        let mut first_norm = 0.0;
        for iter in 1..=NEWTON_MAX_ITER {
            // Residual c f(y) − ψ − d; the first iterate is the prediction,
            // with d = 0.
            let first = iter == 1;
            sys.rhs(
                if first { &self.y_predict } else { &self.y_new },
                &mut self.f,
            );
            self.stats.newton_iterations += 1;
            self.stats.rhs_evaluations += 1;
            {
                let (dy, f, psi, d) = (
                    &mut self.dy[..n],
                    &self.f[..n],
                    &self.psi[..n],
                    &self.d[..n],
                );
                if first {
                    for i in 0..n {
                        dy[i] = c * f[i] - psi[i];
                    }
                } else {
                    for i in 0..n {
                        dy[i] = c * f[i] - psi[i] - d[i];
                    }
                }
            }
            self.lu.solve(&mut self.dy);
            // Apply the correction and take its weighted norm (a NaN or an
            // infinity anywhere makes the norm non-finite).
            let sum;
            {
                let (dy, w, y, d) = (
                    &self.dy[..n],
                    &self.weight[..n],
                    &mut self.y_new[..n],
                    &mut self.d[..n],
                );
                let yp = &self.y_predict[..n];
                if first {
                    for i in 0..n {
                        y[i] = yp[i] + dy[i];
                        d[i] = dy[i];
                    }
                } else {
                    for i in 0..n {
                        y[i] += dy[i];
                        d[i] += dy[i];
                    }
                }
                sum = weighted_sum_sq(dy, w);
            }
            let norm = (sum / n.max(1) as f64).sqrt();
            if !norm.is_finite() {
                return false;
            }
            if iter == 1 {
                first_norm = norm;
                // (After a change of step, a known value: no `powf`.)
                self.eta = if self.eta == FRESH_ETA {
                    self.fresh_eta_damped
                } else {
                    self.eta.max(1e4 * f64::EPSILON).powf(0.8)
                };
            } else {
                // Mean contraction per iteration since the first.
                let ratio = norm / first_norm;
                let rate = match iter - 1 {
                    1 => ratio,
                    2 => ratio.sqrt(),
                    k => ratio.powf(1.0 / k as f64),
                };
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
            if self.h.is_nan() || self.h < min_step {
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
            // Predictor, error weights, and the history term ψ, in one pass.
            let mut g = [0.0; MAX_ORDER + 1];
            for (j, gj) in g.iter_mut().enumerate().take(order + 1).skip(1) {
                *gj = self.gamma[j] / self.alpha[order];
            }
            {
                let p = Predict {
                    diff: &self.diff[..(order + 1) * n],
                    atol: &self.atol[..n],
                    rtol: self.rtol,
                    g: &g,
                    yp: &mut self.y_predict[..n],
                    psi: &mut self.psi[..n],
                    weight: &mut self.weight[..n],
                };
                match order {
                    1 => p.run::<1>(),
                    2 => p.run::<2>(),
                    3 => p.run::<3>(),
                    4 => p.run::<4>(),
                    _ => p.run::<5>(),
                }
            }
            let c = self.h / self.alpha[order];
            // (NaN when no matrix is factorised.)
            let drift = (c / self.lu_c - 1.0).abs();
            if drift.is_nan() || drift > NEWTON_MATRIX_DRIFT {
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
            // Error weights at the new state and the error's norm, in one pass.
            let error_norm = {
                let (w, atol, y, d) = (
                    &mut self.weight[..n],
                    &self.atol[..n],
                    &self.y_new[..n],
                    &self.d[..n],
                );
                // Two passes: the divisions vectorise.
                for i in 0..n {
                    w[i] = 1.0 / (atol[i] + self.rtol * y[i].abs());
                }
                let s = weighted_sum_sq(d, w);
                self.error_const[order] * (s / n.max(1) as f64).sqrt()
            };
            if error_norm > 1.0 && !self.fixed {
                self.stats.rejected += 1;
                let factor = (0.9 * error_norm.powf(-1.0 / (order + 1) as f64)).max(MIN_SHRINK);
                self.rescale(factor.min(MAX_SHRINK));
                self.eta = FRESH_ETA;
                continue;
            }
            // Accept: D^{k+2} = d − D^{k+1}, D^{k+1} = d, D^j += D^{j+1}.
            {
                let rows = &mut self.diff[..(order + 3) * n];
                let d = &self.d[..n];
                match order {
                    1 => accept_rows::<1>(rows, n, d),
                    2 => accept_rows::<2>(rows, n, d),
                    3 => accept_rows::<3>(rows, n, d),
                    4 => accept_rows::<4>(rows, n, d),
                    _ => accept_rows::<5>(rows, n, d),
                }
            }
            self.t = t_new;
            self.stats.steps += 1;
            self.jac_age += 1;
            self.n_equal_steps += 1;
            if self.t >= self.t_stop {
                return Ok(true);
            }
            if self.n_equal_steps > order && !self.fixed {
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

    /// The solution at `t` within the last step, from the polynomial
    /// through the recent solutions that the difference history represents
    /// (the one the next step predicts from): accurate to the order of the
    /// method, and exact for the conserved totals of a network, since
    /// those are linear in time and every difference preserves them.
    pub fn interpolate(&self, t: f64, out: &mut [f64]) {
        let n = self.n;
        let out = &mut out[..n];
        // p_j = Π_{m ≤ j} (t − t_{n+1−m}) / (m h), with t_{n+1−m} = t_n − (m − 1) h.
        let s = (t - self.t) / self.h;
        let mut p = [0.0; MAX_ORDER + 1];
        let mut pj = 1.0;
        for (j, pj_out) in p.iter_mut().enumerate().take(self.order + 1).skip(1) {
            pj *= (s + (j - 1) as f64) * RECIPROCALS[j];
            *pj_out = pj;
        }
        let diff = &self.diff[..(self.order + 1) * n];
        match self.order {
            1 => interpolate_rows::<1>(diff, &p, out),
            2 => interpolate_rows::<2>(diff, &p, out),
            3 => interpolate_rows::<3>(diff, &p, out),
            4 => interpolate_rows::<4>(diff, &p, out),
            _ => interpolate_rows::<5>(diff, &p, out),
        }
    }

    /// After `order + 1` steps at the same order and step: the order among
    /// `order − 1`, `order`, `order + 1` that allows the longest next step,
    /// and that step. `self.weight` holds the weights at the new state.
    fn adapt(&mut self, order: usize, error_norm: f64) {
        let n = self.n;
        let e_down = if order > 1 {
            self.error_const[order - 1] * rms(&self.diff[order * n..(order + 1) * n], &self.weight)
        } else {
            0.0
        };
        let e_up = if order < MAX_ORDER {
            self.error_const[order + 1]
                * rms(&self.diff[(order + 2) * n..(order + 3) * n], &self.weight)
        } else {
            0.0
        };
        // The common outcome without a `powf`: the order stays and the step
        // too, since its factor `0.9 · error^(−1/(k+1))` lies in
        // (MAX_SHRINK, MIN_GROWTH) and neither neighbour's is larger. The
        // factors compare as integer powers of the errors (`down < same` ⇔
        // `e_down^(k+1) > e^k`), each test with a margin far above rounding:
        // an undecided one takes the exact path below.
        let k = order as i32;
        let margin = 1.0 + 1e-6;
        let keep_lo = self.keep_threshold[order] * margin;
        if error_norm > keep_lo
            && error_norm < 1.0 - 1e-6
            && (order == 1 || e_down.powi(k + 1) > error_norm.powi(k) * margin)
            && (order == MAX_ORDER || e_up.powi(k + 1) > error_norm.powi(k + 2) * margin)
        {
            return;
        }
        let factor_of = |err: f64, k: usize| err.powf(-1.0 / (k + 1) as f64);
        let down = if order > 1 {
            factor_of(e_down, order - 1)
        } else {
            0.0
        };
        let up = if order < MAX_ORDER {
            factor_of(e_up, order + 1)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y₁' = −a y₁`, `y₂' = a y₁ − b y₂`, `y(0) = (1, 0)`: a two-compartment
    /// chain with the solution `y₁ = e^{−at}`,
    /// `y₂ = a (e^{−at} − e^{−bt}) / (b − a)`; stiff when `b ≫ a`.
    struct Chain {
        a: f64,
        b: f64,
    }

    impl Chain {
        fn exact(&self, t: f64) -> [f64; 2] {
            let (ea, eb) = ((-self.a * t).exp(), (-self.b * t).exp());
            [ea, self.a * (ea - eb) / (self.b - self.a)]
        }
    }

    impl StiffSystem for Chain {
        fn rhs(&self, y: &[f64], dy: &mut [f64]) {
            dy[0] = -self.a * y[0];
            dy[1] = self.a * y[0] - self.b * y[1];
        }
        fn jacobian(&self, _y: &[f64], jac: &mut [f64]) {
            jac.copy_from_slice(&[-self.a, self.a, 0.0, -self.b]);
        }
    }

    fn integrate(sys: &impl StiffSystem, bdf: &mut Bdf) {
        while !bdf.step(sys).expect("the step succeeds") {}
    }

    /// At a constant step `h` and order `k`, started from the exact history,
    /// the global error of BDF/NDF of order `k` falls as `h^k` (Shampine &
    /// Reichelt 1997, docs/references.md#shampine-reichelt-1997: the NDF keep the order of the BDF): halving the step
    /// divides the error by `2^k`.
    #[test]
    fn constant_step_error_falls_with_the_order_of_the_method() {
        let chain = Chain { a: 1.0, b: 2.0 };
        for order in 1..=MAX_ORDER {
            let error_at = |steps: usize| {
                let h = 1.0 / steps as f64;
                let mut bdf = Bdf::new(2);
                bdf.start(&chain, 0.0, &chain.exact(0.0), 1.0, 1e-13, &[1e-13; 2]);
                bdf.fixed = true;
                bdf.order = order;
                bdf.h = h;
                // Backward differences of the exact solution at 0, −h, −2h, …
                let past: Vec<[f64; 2]> = (0..order + 2)
                    .map(|j| chain.exact(-(j as f64) * h))
                    .collect();
                let mut level = past.clone();
                for j in 0..order + 2 {
                    bdf.diff[j * 2..j * 2 + 2].copy_from_slice(&level[0]);
                    level = level
                        .windows(2)
                        .map(|w| [w[0][0] - w[1][0], w[0][1] - w[1][1]])
                        .collect();
                }
                integrate(&chain, &mut bdf);
                assert_eq!(bdf.stats.rejected, 0, "order {order}: a fixed step was cut");
                assert_eq!(bdf.stats.steps, steps, "order {order}");
                let exact = chain.exact(1.0);
                let y = bdf.y();
                (y[0] - exact[0]).abs().max((y[1] - exact[1]).abs())
            };
            let coarse = error_at(20);
            let fine = error_at(40);
            let observed = (coarse / fine).log2();
            assert!(
                (observed - order as f64).abs() < 0.25,
                "order {order}: errors {coarse:e} → {fine:e}, observed order {observed:.2}"
            );
        }
    }

    /// Robertson's chemical kinetics (Hairer & Wanner, Solving ODEs II,
    /// §IV.1; reference solution at t = 40 from the IVP test set of Mazzia &
    /// Magherini): rate constants spanning 1e-2 to 3e7 make it stiff, so an
    /// explicit method would need of the order of 1e6 steps where BDF needs
    /// hundreds; the total `y₁ + y₂ + y₃ = 1` is conserved to rounding.
    #[test]
    fn robertson_stiff_kinetics_match_the_reference_solution() {
        struct Robertson;
        impl StiffSystem for Robertson {
            fn rhs(&self, y: &[f64], dy: &mut [f64]) {
                let (a, b, c) = (0.04 * y[0], 1e4 * y[1] * y[2], 3e7 * y[1] * y[1]);
                dy[0] = -a + b;
                dy[1] = a - b - c;
                dy[2] = c;
            }
            fn jacobian(&self, y: &[f64], jac: &mut [f64]) {
                jac.copy_from_slice(&[
                    -0.04,
                    0.04,
                    0.0,
                    1e4 * y[2],
                    -1e4 * y[2] - 6e7 * y[1],
                    6e7 * y[1],
                    1e4 * y[1],
                    -1e4 * y[1],
                    0.0,
                ]);
            }
        }
        let mut bdf = Bdf::new(3);
        bdf.start(
            &Robertson,
            0.0,
            &[1.0, 0.0, 0.0],
            40.0,
            1e-8,
            &[1e-12, 1e-16, 1e-12],
        );
        integrate(&Robertson, &mut bdf);
        let reference = [0.7158270687193685, 9.185534764557237e-6, 0.2841637457458669];
        let y = bdf.y();
        assert_eq!(bdf.t(), 40.0, "lands on the stop time exactly");
        for i in 0..3 {
            let rel = (y[i] - reference[i]).abs() / reference[i];
            assert!(rel < 1e-6, "y{i} = {} vs {}: {rel:e}", y[i], reference[i]);
        }
        assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-13);
        assert!(bdf.stats.steps < 1000, "{} steps", bdf.stats.steps);
    }

    /// Error control: the global error of the chain after five time
    /// constants, relative to the initial amount, stays within a small
    /// multiple of the requested tolerance, with rates 1 and 2 and with rates
    /// 1 and 1e4 (stiff); and tightening the tolerance 1e4-fold tightens the
    /// error at least 1e2-fold (tolerance proportionality, which a
    /// variable-order method keeps only roughly).
    #[test]
    fn error_follows_the_requested_tolerance() {
        for stiffness in [2.0, 1e4] {
            let chain = Chain {
                a: 1.0,
                b: stiffness,
            };
            let end = 5.0;
            let error_at = |rtol: f64| {
                let mut bdf = Bdf::new(2);
                bdf.start(&chain, 0.0, &chain.exact(0.0), end, rtol, &[rtol * 1e-3; 2]);
                integrate(&chain, &mut bdf);
                let exact = chain.exact(end);
                let y = bdf.y();
                // Relative to the initial amount, 1.
                let error = (0..2).map(|i| (y[i] - exact[i]).abs()).fold(0.0, f64::max);
                (error, bdf.stats.steps)
            };
            let (loose, loose_steps) = error_at(1e-5);
            let (tight, tight_steps) = error_at(1e-9);
            assert!(
                loose < 2.0 * 1e-5,
                "stiffness {stiffness}: error {loose:e} at rtol 1e-5"
            );
            assert!(
                tight < 2.0 * 1e-9,
                "stiffness {stiffness}: error {tight:e} at rtol 1e-9"
            );
            assert!(
                tight < loose * 1e-2,
                "stiffness {stiffness}: {loose:e} → {tight:e}"
            );
            assert!(
                tight_steps > loose_steps,
                "a tighter tolerance takes more steps"
            );
        }
    }

    /// Dense output: between step ends, the interpolating polynomial of the
    /// difference history follows the exact solution to the tolerance's
    /// order (here within 1e-8 of the initial amount at rtol 1e-9), and
    /// reproduces the step end itself exactly.
    #[test]
    fn interpolation_inside_steps_is_accurate() {
        let chain = Chain { a: 1.0, b: 2.0 };
        let mut bdf = Bdf::new(2);
        bdf.start(&chain, 0.0, &chain.exact(0.0), 5.0, 1e-9, &[1e-12; 2]);
        let mut before = 0.0;
        let mut worst: f64 = 0.0;
        let mut y = [0.0; 2];
        loop {
            let reached = bdf.step(&chain).expect("the step succeeds");
            let now = bdf.t();
            for s in [0.25, 0.5, 0.75] {
                let t = before + s * (now - before);
                bdf.interpolate(t, &mut y);
                let exact = chain.exact(t);
                worst = worst
                    .max((y[0] - exact[0]).abs())
                    .max((y[1] - exact[1]).abs());
            }
            bdf.interpolate(now, &mut y);
            assert_eq!(&y[..], bdf.y(), "at the step end");
            before = now;
            if reached {
                break;
            }
        }
        assert!(worst < 1e-8, "worst interpolation error {worst:e}");
    }

    /// A Newton matrix that cannot be factorised stops the integration with
    /// an error naming the time, rather than producing garbage.
    #[test]
    fn singular_newton_matrix_is_an_error() {
        // A Jacobian of NaN: no pivot of I − cJ is usable, whatever c.
        struct Broken;
        impl StiffSystem for Broken {
            fn rhs(&self, y: &[f64], dy: &mut [f64]) {
                dy.copy_from_slice(y);
            }
            fn jacobian(&self, _y: &[f64], jac: &mut [f64]) {
                jac.fill(f64::NAN);
            }
        }
        let mut bdf = Bdf::new(2);
        bdf.start(&Broken, 0.0, &[1.0, 1.0], 1.0, 1e-6, &[1e-9; 2]);
        let e = bdf
            .step(&Broken)
            .expect_err("a NaN Jacobian cannot be factorised");
        assert_eq!(e.time, 0.0);
        assert!(e.message.contains("singular"), "{}", e.message);
    }
}
