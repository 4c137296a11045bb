//! The body engine's blood compartment as a sum of first-order pools.
//!
//! A marker that is a vesicle population can take its blood kinetics from a
//! vesicle class of the body engine (built by `crate::coupling::blood_modes`) instead of a
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

use nalgebra::Complex;

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
