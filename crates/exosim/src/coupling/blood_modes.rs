//! The body engine's network as the biopsy's blood kinetics: one vesicle
//! class's linear(ised) network decomposed into first-order pools
//! ([`BloodModes`]), so that a blood test's marker follows the body's
//! circulation, uptake and return instead of one half-life.

use nalgebra::{DMatrix, DVector};

use crate::biopsy::blood_modes::{BloodModes, C64, MODE_CHECK_TOLERANCE, Mode};
use crate::body::network::Network;
use crate::body::pbpk::ClassStates;

/// The pools of `class` in `network`, with its saturable sites in their
/// linear limit. Errors (in words) when the decomposition does not
/// reproduce h(0) and ∫h of direct solves to [`MODE_CHECK_TOLERANCE`]
/// (e.g. a defective matrix with repeated eigenvalues).
pub fn from_network(network: &Network, class: &ClassStates) -> Result<BloodModes, String> {
    let n = network.len();
    let mut blood = vec![class.venous, class.arterial];
    blood.extend(&class.vascular);
    let mut is_class = vec![false; n];
    for s in class.all() {
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
