//! A network of well-mixed compartments exchanging vesicles, and its
//! integration through a dosing schedule.
//!
//! Every flux leaves one state and enters another (sinks such as "degraded"
//! are states too), so the sum of all states changes only by the inputs:
//! the vesicle count is conserved by construction, and the solver preserves
//! this linear invariant to rounding. Fluxes are first-order transfers or
//! Michaelis–Menten uptake at saturable sites shared competitively by several
//! vesicle classes (macrophages are one pool, whatever they eat).
//!
//! The system is stiff (blood crosses an organ's vascular bed in seconds,
//! vesicles stay in organs for days), so it is solved with a BDF method
//! ([`super::bdf`]), in segments between dosing events: a bolus changes the state,
//! an infusion or a source switches an input on or off.

use serde::Serialize;

use super::bdf::{Bdf, StiffSystem};

/// First-order transfer `from → to` at `rate` (1/s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transfer {
    /// Source state.
    pub from: usize,
    /// Destination state.
    pub to: usize,
    /// 1/s.
    pub rate: f64,
}

/// One substrate of a saturable site: vesicles in `from` (a space of
/// `volume`) taken up into `to`, with relative affinity `affinity`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SaturableMember {
    /// State taken from.
    pub from: usize,
    /// State taken into.
    pub to: usize,
    /// Volume of `from`, m³, to turn amounts into concentrations.
    pub volume: f64,
    /// Affinity relative to the reference vesicle (the site's Km is divided by it).
    pub affinity: f64,
}

/// Competitive Michaelis–Menten uptake: member `j` is taken up at
/// `vmax · a_j C_j / (km + Σ_i a_i C_i)` vesicles per second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaturableSite {
    /// Maximal uptake, vesicles/s.
    pub vmax: f64,
    /// Half-saturating concentration of the reference vesicle, 1/m³.
    pub km: f64,
    /// Competing substrates.
    pub members: Vec<SaturableMember>,
}

/// The compartment network: its states and fluxes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// State names, for diagnostics.
    pub names: Vec<String>,
    /// Linear fluxes.
    pub transfers: Vec<Transfer>,
    /// Saturable fluxes.
    pub sites: Vec<SaturableSite>,
}

impl Network {
    /// Adds a state and returns its index.
    pub fn add_state(&mut self, name: impl Into<String>) -> usize {
        self.names.push(name.into());
        self.names.len() - 1
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the network has no state.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds a first-order transfer; zero rates are dropped.
    pub fn transfer(&mut self, from: usize, to: usize, rate: f64) {
        if rate > 0.0 {
            self.transfers.push(Transfer { from, to, rate });
        }
    }

    /// dy/dt = fluxes(y) + inputs.
    pub fn rhs(&self, y: &[f64], inputs: &[f64], dy: &mut [f64]) {
        dy.copy_from_slice(inputs);
        for t in &self.transfers {
            let f = t.rate * y[t.from];
            dy[t.from] -= f;
            dy[t.to] += f;
        }
        for site in &self.sites {
            let load: f64 = site
                .members
                .iter()
                .map(|m| m.affinity * y[m.from].max(0.0) / m.volume)
                .sum();
            let denom = site.km + load;
            for m in &site.members {
                let f = site.vmax * m.affinity * y[m.from].max(0.0) / m.volume / denom;
                dy[m.from] -= f;
                dy[m.to] += f;
            }
        }
    }

    /// Jacobian of the fluxes at `y`, times `v`.
    pub fn jac_mul(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for t in &self.transfers {
            let f = t.rate * v[t.from];
            out[t.from] -= f;
            out[t.to] += f;
        }
        for site in &self.sites {
            let conc = |m: &SaturableMember| m.affinity * y[m.from].max(0.0) / m.volume;
            let dconc = |m: &SaturableMember| {
                if y[m.from] > 0.0 {
                    m.affinity * v[m.from] / m.volume
                } else {
                    0.0
                }
            };
            let load: f64 = site.members.iter().map(conc).sum();
            let dload: f64 = site.members.iter().map(dconc).sum();
            let denom = site.km + load;
            for m in &site.members {
                let df = site.vmax * (dconc(m) / denom - conc(m) * dload / (denom * denom));
                out[m.from] -= df;
                out[m.to] += df;
            }
        }
    }
}

/// What happens at an event time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum EventKind {
    /// `amount` vesicles appear at once in `state`.
    Bolus {
        /// Receiving state.
        state: usize,
        /// Vesicles.
        amount: f64,
    },
    /// The constant input into `state` changes by `delta` vesicles/s.
    Input {
        /// Receiving state.
        state: usize,
        /// Change of rate, vesicles/s.
        delta: f64,
    },
}

/// A scheduled change of the system.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Event {
    /// s.
    pub time: f64,
    /// What changes.
    pub kind: EventKind,
}

/// Integrator settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerances {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance per state, vesicles: scaled to each class's own
    /// input, so that a class dosed with 1e3 beside one dosed with 1e12 is
    /// solved to the same relative accuracy.
    pub atol: Vec<f64>,
}

impl Tolerances {
    /// The same absolute tolerance for all `n` states.
    pub fn uniform(rtol: f64, atol: f64, n: usize) -> Self {
        Tolerances {
            rtol,
            atol: vec![atol; n],
        }
    }
}

/// The integrator failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the ODE solver failed at t = {time} s: {message}")]
pub struct SolveError {
    /// Simulated time reached, s.
    pub time: f64,
    /// The solver's own words.
    pub message: String,
}

/// Solution at the requested output times (rows), and solver work.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Output times, s.
    pub times: Vec<f64>,
    /// One state vector per output time.
    pub states: Vec<Vec<f64>>,
    /// Accepted BDF steps, summed over segments.
    pub steps: usize,
    /// Jacobian evaluations and LU factorisations, summed over segments.
    pub factorisations: usize,
    /// Newton iterations (one linear solve each), summed over segments.
    pub newton_iterations: usize,
}

/// Integrates `net` from the zero state at t = 0 through `events`, recording
/// the state at each of `output_times` (sorted, within `[0, end]`). An output
/// at an event's time shows the state after the event.
pub fn simulate(
    net: &Network,
    events: &[Event],
    output_times: &[f64],
    end: f64,
    tol: &Tolerances,
    mut progress: impl FnMut(f64),
) -> Result<Trajectory, SolveError> {
    let n = net.len();
    let mut events: Vec<Event> = events.to_vec();
    events.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut y = vec![0.0; n];
    let mut inputs = vec![0.0; n];
    let mut out = Trajectory {
        times: Vec::with_capacity(output_times.len()),
        states: Vec::with_capacity(output_times.len()),
        steps: 0,
        factorisations: 0,
        newton_iterations: 0,
    };
    let mut next_out = 0;
    let mut next_event = 0;
    let mut t = 0.0;
    // Segment boundaries: every event time after 0, and the end.
    let mut boundaries: Vec<f64> = events
        .iter()
        .map(|e| e.time)
        .filter(|&s| s > 0.0 && s < end)
        .collect();
    boundaries.push(end);
    boundaries.dedup();
    // Inputs switch on and off by adding and removing rates; what rounding
    // leaves of a rate switched off (relative to the rates added) is zero.
    let mut rate_scale = vec![0.0_f64; n];
    let mut apply = |y: &mut [f64], inputs: &mut [f64], e: &Event| match e.kind {
        EventKind::Bolus { state, amount } => y[state] += amount,
        EventKind::Input { state, delta } => {
            rate_scale[state] = rate_scale[state].max(delta.abs());
            inputs[state] += delta;
            if inputs[state].abs() <= 1e-12 * rate_scale[state] {
                inputs[state] = 0.0;
            }
        }
    };
    while next_event < events.len() && events[next_event].time <= 0.0 {
        apply(&mut y, &mut inputs, &events[next_event]);
        next_event += 1;
    }
    while next_out < output_times.len() && output_times[next_out] <= 0.0 {
        out.times.push(output_times[next_out]);
        out.states.push(y.clone());
        next_out += 1;
    }
    for &stop in &boundaries {
        let seg = integrate_segment(
            net,
            &y,
            &inputs,
            t,
            stop,
            output_times,
            &mut next_out,
            &mut out,
            tol,
        )?;
        y = seg;
        t = stop;
        while next_event < events.len() && events[next_event].time <= t {
            apply(&mut y, &mut inputs, &events[next_event]);
            next_event += 1;
        }
        while next_out < output_times.len() && output_times[next_out] <= t {
            out.times.push(output_times[next_out]);
            out.states.push(y.clone());
            next_out += 1;
        }
        progress(t / end);
    }
    Ok(out)
}

/// One segment's system: the network's fluxes plus the constant inputs.
struct Segment<'a> {
    net: &'a Network,
    inputs: &'a [f64],
}

impl StiffSystem for Segment<'_> {
    fn rhs(&self, y: &[f64], dy: &mut [f64]) {
        self.net.rhs(y, self.inputs, dy);
    }

    fn jacobian(&self, y: &[f64], jac: &mut [f64]) {
        self.net.jacobian(y, jac);
    }
}

impl Network {
    /// The Jacobian of the fluxes at `y`, column-major (`jac[j * n + i]` =
    /// ∂f_i/∂y_j), assembled from the transfers and sites directly: one
    /// pass over the fluxes instead of one product per column.
    pub fn jacobian(&self, y: &[f64], jac: &mut [f64]) {
        let n = self.len();
        jac.fill(0.0);
        for t in &self.transfers {
            jac[t.from * n + t.from] -= t.rate;
            jac[t.from * n + t.to] += t.rate;
        }
        for site in &self.sites {
            let load: f64 = site
                .members
                .iter()
                .map(|m| m.affinity * y[m.from].max(0.0) / m.volume)
                .sum();
            let denom = site.km + load;
            // f_i = vmax c_i / denom, c_i = a_i y_i⁺ / V_i:
            // ∂f_i/∂y_k = vmax (δ_ik − c_i / denom) (∂c_k/∂y_k) / denom.
            for k in &site.members {
                if y[k.from] <= 0.0 {
                    continue;
                }
                let dck = k.affinity / k.volume;
                for i in &site.members {
                    let ci = i.affinity * y[i.from].max(0.0) / i.volume;
                    let mut df = -site.vmax * ci * dck / (denom * denom);
                    if std::ptr::eq(i, k) {
                        df += site.vmax * dck / denom;
                    }
                    jac[k.from * n + i.from] -= df;
                    jac[k.from * n + i.to] += df;
                }
            }
        }
    }
}

/// Integrates one segment without events from `t0` to `t1`, recording
/// outputs strictly inside it; returns the state at `t1`.
#[allow(clippy::too_many_arguments)]
fn integrate_segment(
    net: &Network,
    y0: &[f64],
    inputs: &[f64],
    t0: f64,
    t1: f64,
    output_times: &[f64],
    next_out: &mut usize,
    out: &mut Trajectory,
    tol: &Tolerances,
) -> Result<Vec<f64>, SolveError> {
    let n = net.len();
    let system = Segment { net, inputs };
    let mut solver = Bdf::new(n);
    solver.start(&system, t0, y0, t1, tol.rtol, &tol.atol);
    // Outputs inside a step come from a quintic Hermite interpolant of the
    // two step ends (values, first and second derivatives). Unlike the BDF
    // interpolant it conserves vesicles exactly (the derivatives sum to the
    // input rate and to zero), so the mass balance closes at every output
    // time, and it is sixth-order accurate.
    let mut start = Knot::new(n);
    let mut end = Knot::new(n);
    start.set(t0, y0);
    let result = loop {
        let reached = match solver.step(&system) {
            Ok(reached) => reached,
            Err(e) => {
                break Err(SolveError {
                    time: e.time,
                    message: e.message,
                });
            }
        };
        let now = solver.t();
        end.set(now, solver.y());
        while *next_out < output_times.len()
            && output_times[*next_out] < t1
            && output_times[*next_out] <= now
        {
            let tq = output_times[*next_out];
            start.derivatives(net, inputs);
            end.derivatives(net, inputs);
            out.times.push(tq);
            out.states.push(hermite(&start, &end, tq));
            *next_out += 1;
        }
        if reached {
            break Ok(solver.y().to_vec());
        }
        std::mem::swap(&mut start, &mut end);
    };
    out.steps += solver.stats.steps;
    out.factorisations += solver.stats.factorisations;
    out.newton_iterations += solver.stats.newton_iterations;
    result
}

/// A step end: time, state, and (computed on demand) the first and second
/// time derivatives of the state. Two knots per segment are reused step
/// after step, so stepping allocates nothing.
struct Knot {
    t: f64,
    y: Vec<f64>,
    dy: Vec<f64>,
    ddy: Vec<f64>,
    /// `dy` and `ddy` belong to the current `y`.
    has_derivatives: bool,
}

impl Knot {
    fn new(n: usize) -> Self {
        Knot {
            t: 0.0,
            y: vec![0.0; n],
            dy: vec![0.0; n],
            ddy: vec![0.0; n],
            has_derivatives: false,
        }
    }

    fn set(&mut self, t: f64, y: &[f64]) {
        self.t = t;
        self.y.copy_from_slice(y);
        self.has_derivatives = false;
    }

    /// y' = f(y) + u and y'' = J(y) y' (the inputs are constant in a segment).
    fn derivatives(&mut self, net: &Network, inputs: &[f64]) {
        if !self.has_derivatives {
            net.rhs(&self.y, inputs, &mut self.dy);
            net.jac_mul(&self.y, &self.dy, &mut self.ddy);
            self.has_derivatives = true;
        }
    }
}

/// Quintic Hermite interpolation between two knots whose derivatives are known.
fn hermite(a: &Knot, b: &Knot, t: f64) -> Vec<f64> {
    let h = b.t - a.t;
    if h <= 0.0 {
        return b.y.clone();
    }
    let s = (t - a.t) / h;
    let (s2, s3) = (s * s, s * s * s);
    let (s4, s5) = (s3 * s, s3 * s2);
    let h0 = 1.0 - 10.0 * s3 + 15.0 * s4 - 6.0 * s5;
    let h1 = s - 6.0 * s3 + 8.0 * s4 - 3.0 * s5;
    let h2 = 0.5 * (s2 - 3.0 * s3 + 3.0 * s4 - s5);
    let h3 = 10.0 * s3 - 15.0 * s4 + 6.0 * s5;
    let h4 = -4.0 * s3 + 7.0 * s4 - 3.0 * s5;
    let h5 = 0.5 * (s3 - 2.0 * s4 + s5);
    debug_assert!(a.has_derivatives && b.has_derivatives);
    let (h1, h4) = (h * h1, h * h4);
    let (h2, h5) = (h * h * h2, h * h * h5);
    let start = a.y.iter().zip(&a.dy).zip(&a.ddy);
    let end = b.y.iter().zip(&b.dy).zip(&b.ddy);
    start
        .zip(end)
        .map(|(((ya, da), dda), ((yb, db), ddb))| {
            ya * h0 + da * h1 + dda * h2 + yb * h3 + db * h4 + ddb * h5
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jacobian-vector products agree with finite differences of the fluxes,
    /// including the competitive Michaelis–Menten terms.
    #[test]
    fn jacobian_matches_finite_differences() {
        let mut net = Network::default();
        let a = net.add_state("a");
        let b = net.add_state("b");
        let c = net.add_state("c");
        let d = net.add_state("d");
        net.transfer(a, b, 0.3);
        net.transfer(b, a, 0.1);
        net.sites.push(SaturableSite {
            vmax: 2.0,
            km: 1.5,
            members: vec![
                SaturableMember {
                    from: a,
                    to: c,
                    volume: 2.0,
                    affinity: 1.0,
                },
                SaturableMember {
                    from: b,
                    to: d,
                    volume: 0.5,
                    affinity: 0.4,
                },
            ],
        });
        let y = [3.0, 1.0, 0.0, 0.0];
        let zero = [0.0; 4];
        for k in 0..4 {
            let mut v = [0.0; 4];
            v[k] = 1.0;
            let mut jv = [0.0; 4];
            net.jac_mul(&y, &v, &mut jv);
            let h = 1e-6;
            let (mut yp, mut ym) = (y, y);
            yp[k] += h;
            ym[k] -= h;
            let (mut fp, mut fm) = ([0.0; 4], [0.0; 4]);
            net.rhs(&yp, &zero, &mut fp);
            net.rhs(&ym, &zero, &mut fm);
            for i in 0..4 {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!(
                    (fd - jv[i]).abs() < 1e-7,
                    "d f{i}/d y{k}: {fd} vs {}",
                    jv[i]
                );
            }
        }
    }

    /// Fluxes sum to zero: the network conserves vesicles.
    #[test]
    fn fluxes_conserve_the_total() {
        let mut net = Network::default();
        let a = net.add_state("a");
        let b = net.add_state("b");
        net.transfer(a, b, 0.7);
        net.sites.push(SaturableSite {
            vmax: 1.0,
            km: 1.0,
            members: vec![SaturableMember {
                from: b,
                to: a,
                volume: 1.0,
                affinity: 2.0,
            }],
        });
        let mut dy = [0.0; 2];
        net.rhs(&[5.0, 2.0], &[0.0, 0.0], &mut dy);
        assert!((dy[0] + dy[1]).abs() < 1e-15);
    }
}
