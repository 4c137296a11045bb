//! The body engine's blood compartment as a sum of first-order pools.
//!
//! A marker that is a vesicle population can take its blood kinetics from a
//! vesicle class of the body engine ([`crate::body::pbpk`]) instead of a
//! first-order half-life. At the concentrations of endogenous and tumour
//! vesicles the macrophage sites are far below their Km, so each
//! Michaelis–Menten flux is in its linear limit `Vmax·a/(V·Km)`; the class's
//! network is then linear, dx/dt = A x + e_venous S(t), with S the input into
//! venous blood (where the body engine's sources enter). The blood amount
//! (venous, arterial and every vascular bed, the body engine's `blood`
//! place) has the impulse response
//!
//! ```text
//! h(t) = e_blood · exp(A t) e_venous = Σ_i c_i e^{−λ_i t}
//! ```
//!
//! (eigen-decomposition of A: −λ_i its eigenvalues, c_i = (e_blood·v_i)
//! (w_i·e_venous)/(w_i·v_i) with v_i, w_i its right and left eigenvectors).
//! Each mode is a first-order pool x_i' = S(t) + B − λ_i x_i driven by the
//! same input, and the blood amount is M = Σ c_i x_i: the closed forms of
//! [`super::kinetics`] apply to each pool. Fast circulation modes come in
//! complex-conjugate pairs; a pair is kept once with weight 2c_i and the
//! amount is the real part. States that the venous input never reaches, or
//! that never return to blood (sinks, depots, organs without efflux), do not
//! change the blood amount and are left out before the decomposition.
//!
//! The rates are stored relative to the effective elimination rate
//! k = 1/Σ c_i/λ_i (the steady blood amount is input/k, as for first-order
//! elimination), so that an individual whose elimination is scaled by a
//! factor f (the biopsy's `elimination_cv`) has every λ_i scaled by f.

use nalgebra::{Complex, DMatrix, DVector};

use crate::body::network::Network;
use crate::body::pbpk::ClassStates;

/// A complex number in f64.
pub type C64 = Complex<f64>;

/// Largest relative disagreement allowed between the modes and direct
/// solves of the network for h(0) and the area under h.
pub const MODE_CHECK_TOLERANCE: f64 = 1e-8;

/// One first-order pool of the blood response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mode {
    /// Weight of the pool in the blood amount: c_i for a real mode, 2c_i
    /// for a conjugate pair (the amount is the real part of Σ weight·x).
    pub weight: C64,
    /// λ_i / k: the pool's rate relative to the effective elimination rate.
    pub rate: C64,
}

/// The blood response of one vesicle class of a body, as pools.
#[derive(Debug, Clone, PartialEq)]
pub struct BloodModes {
    /// The pools, slowest first.
    pub modes: Vec<Mode>,
    /// k = 1 / ∫h (1/s): the steady blood amount of a constant input S is S/k.
    pub effective_rate: f64,
    /// h(0) = Σ c_i: 1, since the input enters venous blood, a blood state.
    pub initial_response: f64,
    /// Largest `load/Km` over the macrophage sites at the steady state of
    /// a unit input (1 vesicle/s) into venous blood, the load being
    /// Σ affinity × concentration of the site's members: multiply by the
    /// steady input to see how far from linear the sites are.
    pub saturation_per_input: f64,
    /// States of the class kept in the decomposition.
    pub states: usize,
}

impl BloodModes {
    /// The pools of `class` in `network`, with its saturable sites in their
    /// linear limit. Errors (in words) when the decomposition does not
    /// reproduce h(0) and ∫h of direct solves to [`MODE_CHECK_TOLERANCE`]
    /// (e.g. a defective matrix with repeated eigenvalues).
    pub fn from_network(network: &Network, class: &ClassStates) -> Result<BloodModes, String> {
        let n = network.len();
        let mut blood = vec![class.venous, class.arterial];
        blood.extend(&class.vascular);
        let mut is_class = vec![false; n];
        for s in class_states(class) {
            is_class[s] = true;
        }
        // Linear rates (from, to, rate) of the class.
        let mut edges: Vec<(usize, usize, f64)> = network
            .transfers
            .iter()
            .filter(|t| is_class[t.from])
            .map(|t| (t.from, t.to, t.rate))
            .collect();
        for site in &network.sites {
            for m in site.members.iter().filter(|m| is_class[m.from]) {
                edges.push((m.from, m.to, site.vmax * m.affinity / (m.volume * site.km)));
            }
        }
        let forward = reach(n, &[class.venous], edges.iter().map(|e| (e.0, e.1)));
        let backward = reach(n, &blood, edges.iter().map(|e| (e.1, e.0)));
        let keep: Vec<usize> = (0..n).filter(|&i| forward[i] && backward[i]).collect();
        let index = |s: usize| keep.iter().position(|&k| k == s);
        let m = keep.len();
        let mut a = DMatrix::<f64>::zeros(m, m);
        // Outflows to states left out still drain the kept ones.
        for &(from, to, rate) in &edges {
            let Some(i) = index(from) else { continue };
            a[(i, i)] -= rate;
            if let Some(j) = index(to) {
                a[(j, i)] += rate;
            }
        }
        let venous = index(class.venous).ok_or("venous blood is not in the network")?;
        let observe: Vec<usize> = blood.iter().filter_map(|&s| index(s)).collect();
        // Direct solves: the steady state of a unit input, for ∫h and the sites.
        let mut e_v = DVector::<f64>::zeros(m);
        e_v[venous] = 1.0;
        let steady = (-a.clone())
            .lu()
            .solve(&e_v)
            .ok_or("the blood compartment has no elimination: its network is singular")?;
        let auc: f64 = observe.iter().map(|&i| steady[i]).sum();
        // h(0) = e_blood · e_venous: venous blood is a blood state.
        let initial_response = 1.0;
        let mut saturation_per_input: f64 = 0.0;
        for site in &network.sites {
            let load: f64 = site
                .members
                .iter()
                .filter(|mm| is_class[mm.from])
                .filter_map(|mm| index(mm.from).map(|i| mm.affinity * steady[i] / mm.volume))
                .sum();
            saturation_per_input = saturation_per_input.max(load / site.km);
        }
        let ac = a.map(|x| C64::new(x, 0.0));
        let act = ac.transpose();
        let mut modes = Vec::new();
        let (mut sum_c, mut sum_auc) = (0.0, 0.0);
        for mu in a.complex_eigenvalues().iter() {
            if mu.im < 0.0 {
                continue;
            }
            let v = inverse_iteration(&ac, *mu).ok_or("an eigenvector could not be computed")?;
            let w = inverse_iteration(&act, *mu).ok_or("an eigenvector could not be computed")?;
            let wv = w.dot(&v);
            // Two-sided Rayleigh quotient: the eigenvalue to second order.
            let mu = w.dot(&(&ac * &v)) / wv;
            let c = observe.iter().map(|&i| v[i]).sum::<C64>() * w[venous] / wv;
            let pair = if mu.im != 0.0 { 2.0 } else { 1.0 };
            let lambda = -mu;
            sum_c += pair * c.re;
            sum_auc += pair * (c / lambda).re;
            modes.push((pair * c, lambda));
        }
        let close = |x: f64, y: f64| (x - y).abs() <= MODE_CHECK_TOLERANCE * y.abs().max(1e-300);
        if !close(sum_c, initial_response) || !close(sum_auc, auc) {
            return Err(format!(
                "the blood response could not be split into modes (h(0) = {sum_c} for {initial_response}, ∫h = {sum_auc} s for {auc} s)"
            ));
        }
        let k = 1.0 / auc;
        let mut modes: Vec<Mode> = modes
            .into_iter()
            .map(|(weight, lambda)| Mode {
                weight,
                rate: lambda / k,
            })
            .collect();
        modes.sort_by(|x, y| x.rate.re.total_cmp(&y.rate.re));
        Ok(BloodModes {
            modes,
            effective_rate: k,
            initial_response,
            saturation_per_input,
            states: m,
        })
    }

    /// One first-order pool of rate `k` (1/s), weight 1: first-order elimination.
    pub fn first_order(k: f64) -> BloodModes {
        BloodModes {
            modes: vec![Mode {
                weight: C64::new(1.0, 0.0),
                rate: C64::new(1.0, 0.0),
            }],
            effective_rate: k,
            initial_response: 1.0,
            saturation_per_input: 0.0,
            states: 1,
        }
    }

    /// The impulse response h(t) (blood amount at t of one unit put into
    /// venous blood at 0) for an effective rate `k` (1/s).
    pub fn impulse_response(&self, k: f64, t: f64) -> f64 {
        self.modes
            .iter()
            .map(|m| (m.weight * (-m.rate * k * t).exp()).re)
            .sum()
    }

    /// The half-life (s) of the slowest mode that carries at least `share`
    /// of h(0), for the effective rate `k`: the blood half-life a sampling
    /// study would see after the fast mixing modes.
    pub fn dominant_half_life(&self, k: f64, share: f64) -> Option<f64> {
        self.modes
            .iter()
            .filter(|m| m.rate.im == 0.0 && m.weight.re >= share * self.initial_response)
            .map(|m| std::f64::consts::LN_2 / (m.rate.re * k))
            .next()
    }
}

fn class_states(c: &ClassStates) -> Vec<usize> {
    let mut v = vec![
        c.venous,
        c.arterial,
        c.lymph,
        c.peritoneal,
        c.subcutaneous,
        c.degraded,
        c.cleared,
    ];
    v.extend(&c.vascular);
    v.extend(&c.tissue);
    v
}

/// States reachable from `start` along `edges`.
fn reach(
    n: usize,
    start: &[usize],
    edges: impl Iterator<Item = (usize, usize)> + Clone,
) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = start.to_vec();
    for &s in start {
        seen[s] = true;
    }
    while let Some(u) = stack.pop() {
        for (a, b) in edges.clone() {
            if a == u && !seen[b] {
                seen[b] = true;
                stack.push(b);
            }
        }
    }
    seen
}

/// An eigenvector of `a` for the eigenvalue near `mu`: two steps of inverse
/// iteration with a shift a hair off `mu`, so the factorisation stays regular.
fn inverse_iteration(a: &DMatrix<C64>, mu: C64) -> Option<DVector<C64>> {
    let n = a.nrows();
    let shift = mu + C64::new(1e-10 * mu.norm().max(1e-300), 0.0);
    let mut shifted = a.clone();
    for i in 0..n {
        shifted[(i, i)] -= shift;
    }
    let lu = shifted.lu();
    let mut x = DVector::from_element(n, C64::new(1.0, 0.0));
    for _ in 0..3 {
        let y = lu.solve(&x)?;
        let norm = y.norm();
        if !(norm.is_finite() && norm > 0.0) {
            return None;
        }
        x = y / C64::new(norm, 0.0);
    }
    Some(x)
}

/// e^{z} − 1 without cancellation for small |z|.
pub fn exp_m1(z: C64) -> C64 {
    let (s, c) = z.im.sin_cos();
    let half = (0.5 * z.im).sin();
    C64::new(z.re.exp_m1() * c - 2.0 * half * half, z.re.exp() * s)
}

/// One pool of rate `lambda` (1/s) over `tau` ∈ [0, dt] of a step of `dt`:
/// the pool's amount from `x`, with background `b` and the tumour source
/// going exponentially from `s0` to `s1` over the step (constant at their
/// mean when either is 0): the complex twin of
/// [`super::kinetics::exponential_integrator_step`].
pub fn pool_within(x: C64, s0: f64, s1: f64, b: f64, lambda: C64, dt: f64, tau: f64) -> C64 {
    let (s, gamma) = if s0 > 0.0 && s1 > 0.0 {
        (s0, (s1 / s0).ln() / dt)
    } else {
        (0.5 * (s0 + s1), 0.0)
    };
    let decay = (-lambda * tau).exp();
    let mut out = x * decay;
    if b != 0.0 {
        out -= exp_m1(-lambda * tau) * b / lambda;
    }
    if s != 0.0 && tau > 0.0 {
        let z = (lambda + gamma) * tau;
        out += if z.norm() < 1.0 {
            let phi = if z == C64::new(0.0, 0.0) {
                C64::new(1.0, 0.0)
            } else {
                exp_m1(z) / z
            };
            decay * s * tau * phi
        } else {
            (C64::new((gamma * tau).exp(), 0.0) - decay) * s / (lambda + gamma)
        };
    }
    out
}

/// The pool's amount after `dt` of a constant input `input` from `x`.
pub fn pool_hold(x: C64, input: f64, lambda: C64, dt: f64) -> C64 {
    x * (-lambda * dt).exp() - exp_m1(-lambda * dt) * input / lambda
}
