//! Dormand–Prince 5(4): the explicit adaptive Runge–Kutta pair for the
//! small, non-stiff systems of effect models (a handful of states per
//! subject). The body network is stiff and has its own BDF solver; an effect
//! model's rates are days⁻¹, so an explicit pair is both exact enough and
//! cheaper than a Newton iteration per step.

/// Coefficients of the Dormand–Prince pair (Hairer, Nørsett & Wanner,
/// *Solving ODEs I*, table 5.2).
const C: [f64; 6] = [1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];
const A: [&[f64]; 6] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// Fifth-order weights minus fourth-order weights: the local error estimate.
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Error control: a step is kept when every state's local error is within
/// `atol·scale + rtol·|y|`, `scale` being the state's typical size (states
/// of one model differ by many orders of magnitude: copies of cargo and
/// cubic metres of tumour).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tolerance {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance, as a fraction of each state's typical size.
    pub atol: f64,
}

/// The integration could not reach its end.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("effect model: {message} at t = {time} s")]
pub struct OdeError {
    /// Where it stopped, s.
    pub time: f64,
    /// Why.
    pub message: String,
}

/// Most steps in one call: far more than any effect model of a study needs
/// (its rates are hours⁻¹ to days⁻¹), so reaching it means a runaway model.
const MAX_STEPS: usize = 100_000;

/// The integration's settings: tolerance, each state's typical size, and
/// the step size carried from one call to the next (0 to let the first
/// call choose).
#[derive(Debug, Clone)]
pub struct Control {
    /// Error control.
    pub tol: Tolerance,
    /// Typical size of each state, for the absolute tolerance.
    pub scale: Vec<f64>,
    /// Step size, s; updated by each call.
    pub h: f64,
}

/// Integrates `dy/dt = f(t, y)` from `t0` to `t1`, in place. Returns the
/// number of accepted steps.
pub fn integrate(
    mut f: impl FnMut(f64, &[f64], &mut [f64]),
    t0: f64,
    t1: f64,
    y: &mut [f64],
    ctl: &mut Control,
) -> Result<usize, OdeError> {
    let n = y.len();
    let (tol, scale, h) = (ctl.tol, &ctl.scale[..], &mut ctl.h);
    let mut k = vec![vec![0.0; n]; 7];
    let mut trial = vec![0.0; n];
    let mut t = t0;
    f(t, y, &mut k[0]);
    if *h <= 0.0 {
        *h = initial_step(y, &k[0], t1 - t0, tol, scale);
    }
    let mut steps = 0;
    while t < t1 {
        if steps >= MAX_STEPS {
            return Err(stop(t, "too many steps"));
        }
        let last = t + *h >= t1;
        let step = if last { t1 - t } else { *h };
        stages(&mut f, t, step, y, &mut k, &mut trial);
        let err = error_norm(y, &trial, &k, step, tol, scale);
        if !err.is_finite() {
            return Err(stop(t, "a state became infinite or NaN"));
        }
        if err <= 1.0 {
            t = if last { t1 } else { t + step };
            y.copy_from_slice(&trial);
            k.swap(0, 6); // first same as last
            steps += 1;
        }
        let grow = if err == 0.0 {
            5.0
        } else {
            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
        };
        // A shortened last step says nothing about the next step's size.
        if !(last && err <= 1.0) {
            *h = step * grow;
        }
        if *h < 1e-12 * t1.abs().max(1.0) {
            return Err(stop(t, "the step size fell below the time's resolution"));
        }
    }
    Ok(steps)
}

fn stop(time: f64, message: &str) -> OdeError {
    OdeError {
        time,
        message: message.into(),
    }
}

/// The six new stages of one step from `y`; `trial` gets the fifth-order
/// solution and `k[6]` its slope.
fn stages(
    f: &mut impl FnMut(f64, &[f64], &mut [f64]),
    t: f64,
    h: f64,
    y: &[f64],
    k: &mut [Vec<f64>],
    trial: &mut [f64],
) {
    for s in 0..6 {
        for i in 0..y.len() {
            let sum: f64 = A[s].iter().enumerate().map(|(j, a)| a * k[j][i]).sum();
            trial[i] = y[i] + h * sum;
        }
        f(t + C[s] * h, trial, &mut k[s + 1]);
    }
}

/// Root-mean-square of the local error over the tolerance of each state.
fn error_norm(
    y: &[f64],
    trial: &[f64],
    k: &[Vec<f64>],
    h: f64,
    tol: Tolerance,
    typical: &[f64],
) -> f64 {
    let sum: f64 = (0..y.len())
        .map(|i| {
            let e: f64 = h * (0..7).map(|s| E[s] * k[s][i]).sum::<f64>();
            let scale = tol.atol * typical[i] + tol.rtol * y[i].abs().max(trial[i].abs());
            (e / scale).powi(2)
        })
        .sum();
    (sum / y.len().max(1) as f64).sqrt()
}

/// A first step small enough for the first slope to be nearly constant
/// over it (Hairer's rule of thumb, simplified).
fn initial_step(y: &[f64], dy: &[f64], span: f64, tol: Tolerance, typical: &[f64]) -> f64 {
    let rate = (0..y.len())
        .map(|i| dy[i].abs() / (tol.atol * typical[i] + tol.rtol * y[i].abs()))
        .fold(0.0, f64::max);
    let h = if rate > 0.0 {
        0.01 / rate.powf(0.2).max(1e-300) * tol.rtol.powf(0.2)
    } else {
        span
    };
    h.min(span).max(span * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight(n: usize) -> Control {
        Control {
            tol: Tolerance {
                rtol: 1e-10,
                atol: 1e-14,
            },
            scale: vec![1.0; n],
            h: 0.0,
        }
    }

    /// y' = −k·y has y = e^{−kt}: the pair is fifth order, so a tight
    /// tolerance gives the closed form to near its own rounding.
    #[test]
    fn exponential_decay_matches_its_closed_form() {
        let mut y = [1.0];
        integrate(
            |_, y, d| d[0] = -0.7 * y[0],
            0.0,
            5.0,
            &mut y,
            &mut tight(1),
        )
        .unwrap();
        assert!((y[0] - (-3.5f64).exp()).abs() < 1e-11, "{}", y[0]);
    }

    /// The harmonic oscillator keeps x² + v² = 1 and returns to its start
    /// after a period.
    #[test]
    fn oscillator_returns_after_one_period() {
        let mut y = [1.0, 0.0];
        let period = 2.0 * std::f64::consts::PI;
        integrate(
            |_, y, d| {
                d[0] = y[1];
                d[1] = -y[0];
            },
            0.0,
            period,
            &mut y,
            &mut tight(2),
        )
        .unwrap();
        assert!((y[0] - 1.0).abs() < 1e-9 && y[1].abs() < 1e-9, "{y:?}");
    }

    /// Calls that end where the next begins give the same answer as one call.
    #[test]
    fn split_intervals_agree_with_one() {
        let f = |t: f64, y: &[f64], d: &mut [f64]| d[0] = t.sin() - 0.3 * y[0];
        let (mut a, mut b) = ([2.0], [2.0]);
        let (mut ca, mut cb) = (tight(1), tight(1));
        integrate(f, 0.0, 10.0, &mut a, &mut ca).unwrap();
        for i in 0..10 {
            integrate(f, i as f64, i as f64 + 1.0, &mut b, &mut cb).unwrap();
        }
        assert!((a[0] - b[0]).abs() < 1e-9, "{} vs {}", a[0], b[0]);
    }

    /// A runaway model stops with an error, not a hang or a panic.
    #[test]
    fn blow_up_is_an_error() {
        let mut y = [1.0];
        let r = integrate(
            |_, y, d| d[0] = y[0] * y[0],
            0.0,
            2.0,
            &mut y,
            &mut tight(1),
        );
        assert!(r.is_err());
    }
}
