//! A small-molecule drug: its pharmacokinetics and its Emax/Hill action.
//!
//! The body, the tissue and the effect engines all read a drug, and no
//! engine may import another, so the drug sits below them. Its disposition
//! is linear (one or two compartments, first-order absorption), so the
//! central amount after any schedule is a sum of exponentials by
//! superposition ([`Drug::central_amount`]): the tissue reads this closed
//! form; the body integrates the same kinetics as linear states of its
//! network, because there the release it inhibits is part of one ODE
//! system, and the closed form is what its tests compare against.
//!
//! Amounts are molecules and concentrations molecules per m³, so that an
//! EC50 written `"50 nM"` and a dose written `"20 nmol"` meet in one unit
//! (Avogadro's number, `crate::units`).

/// Emax/Hill action of a concentration: `emax·Cʰ/(EC50ʰ + Cʰ)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrugAction {
    /// Largest effect (a fraction for inhibition, at most 1).
    pub emax: f64,
    /// Concentration of half the largest effect, 1/m³.
    pub ec50: f64,
    /// Hill coefficient (steepness), > 0.
    pub hill: f64,
}

impl DrugAction {
    /// The action at concentration `c` (1/m³); 0 at `c ≤ 0`.
    pub fn at(&self, c: f64) -> f64 {
        if c <= 0.0 {
            return 0.0;
        }
        // (C/EC50)ʰ / (1 + (C/EC50)ʰ): no overflow of Cʰ for large counts.
        let r = (c / self.ec50).powf(self.hill);
        if r.is_infinite() {
            self.emax
        } else {
            self.emax * r / (1.0 + r)
        }
    }

    /// dI/dC at `c` (m³): `emax·h·rʰ / (C·(1 + rʰ)²)` with `r = C/EC50`;
    /// 0 at `c ≤ 0`, where a Hill coefficient below 1 has no finite slope
    /// and a Newton iteration is better served by none.
    pub fn slope(&self, c: f64) -> f64 {
        if c <= 0.0 {
            return 0.0;
        }
        let r = (c / self.ec50).powf(self.hill);
        if !r.is_finite() {
            return 0.0;
        }
        self.emax * self.hill * r / (c * (1.0 + r) * (1.0 + r))
    }
}

/// Where the drug distributes and how it is eliminated: one or two
/// compartments, parametrised by clearances and volumes (the
/// physiological parametrisation of NONMEM's ADVAN1–4 TRANS2/TRANS4), from
/// which the micro-constants follow.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Disposition {
    /// `dA/dt = −CL/V·A`.
    OneCompartment {
        /// Clearance CL, m³/s.
        clearance: f64,
        /// Volume V, m³.
        volume: f64,
    },
    /// Central (V1) and peripheral (V2) compartments exchanging at Q.
    TwoCompartment {
        /// Clearance CL from the central compartment, m³/s.
        clearance: f64,
        /// Central volume V1, m³.
        volume: f64,
        /// Inter-compartmental clearance Q, m³/s.
        intercompartmental: f64,
        /// Peripheral volume V2, m³.
        peripheral_volume: f64,
    },
}

impl Disposition {
    /// The central volume, m³: concentrations are the central amount over it.
    pub fn central_volume(&self) -> f64 {
        match *self {
            Disposition::OneCompartment { volume, .. }
            | Disposition::TwoCompartment { volume, .. } => volume,
        }
    }

    /// Peripheral volume V2, m³ (none with one compartment).
    pub fn peripheral_volume(&self) -> Option<f64> {
        match *self {
            Disposition::OneCompartment { .. } => None,
            Disposition::TwoCompartment {
                peripheral_volume, ..
            } => Some(peripheral_volume),
        }
    }

    /// Micro-constants `(k10, k12, k21)`, 1/s (`k12 = k21 = 0` with one
    /// compartment).
    pub fn rate_constants(&self) -> (f64, f64, f64) {
        match *self {
            Disposition::OneCompartment { clearance, volume } => (clearance / volume, 0.0, 0.0),
            Disposition::TwoCompartment {
                clearance,
                volume,
                intercompartmental,
                peripheral_volume,
            } => (
                clearance / volume,
                intercompartmental / volume,
                intercompartmental / peripheral_volume,
            ),
        }
    }

    /// The central amount after a unit bolus into it, as `Σ aᵢ·e^(−λᵢt)`
    /// (pairs `(aᵢ, λᵢ)`): one exponential with one compartment; with
    /// two, the bi-exponential of the roots α > β of
    /// `λ² − (k10 + k12 + k21)λ + k10·k21 = 0`, with `a_α = (α − k21)/(α − β)`
    /// and `a_β = (k21 − β)/(α − β)`.
    pub fn unit_response(&self) -> Vec<(f64, f64)> {
        let (k10, k12, k21) = self.rate_constants();
        if k12 == 0.0 {
            return vec![(1.0, k10)];
        }
        let sum = k10 + k12 + k21;
        let root = (sum * sum - 4.0 * k10 * k21).max(0.0).sqrt();
        let alpha = 0.5 * (sum + root);
        // β from the product of the roots: no cancellation when k10·k21 is small.
        let beta = k10 * k21 / alpha;
        vec![
            ((alpha - k21) / (alpha - beta), alpha),
            ((k21 - beta) / (alpha - beta), beta),
        ]
    }
}

/// First-order absorption of oral doses: the fraction `bioavailability`
/// of each dose reaches a gut depot that empties into the central
/// compartment at `ka`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Absorption {
    /// Absorption rate constant ka, 1/s.
    pub ka: f64,
    /// Fraction of the dose absorbed, F, 0–1.
    pub bioavailability: f64,
}

/// How a drug dose is given.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DrugRoute {
    /// All at once into the central compartment.
    IvBolus,
    /// Into the central compartment at `amount / duration` for `duration`.
    IvInfusion {
        /// Length of each infusion, s.
        duration: f64,
    },
    /// By mouth: through the drug's [`Absorption`].
    Oral,
}

/// A dose schedule of the drug.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrugDose {
    /// Route.
    pub route: DrugRoute,
    /// Molecules per administration.
    pub amount: f64,
    /// Start of each administration, s, ascending.
    pub times: Vec<f64>,
}

/// A drug given to an arm: its kinetics, its doses and its action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Drug {
    /// Identifier, used in column names.
    pub name: String,
    /// Distribution and elimination.
    pub disposition: Disposition,
    /// Oral absorption, when some dose is oral.
    pub absorption: Option<Absorption>,
    /// Administrations.
    pub doses: Vec<DrugDose>,
    /// What the concentration does to the release it inhibits.
    pub action: DrugAction,
}

impl Drug {
    /// Molecules in the central compartment at `t`, s: every
    /// administration's closed-form course, summed (the kinetics are
    /// linear).
    pub fn central_amount(&self, t: f64) -> f64 {
        let response = self.disposition.unit_response();
        let mut amount = 0.0;
        for dose in &self.doses {
            for &t0 in dose.times.iter().filter(|&&t0| t0 <= t) {
                let u = t - t0;
                amount += match dose.route {
                    DrugRoute::IvBolus => dose.amount * exponentials(&response, u),
                    DrugRoute::IvInfusion { duration } => {
                        dose.amount / duration * infused(&response, u, duration)
                    }
                    DrugRoute::Oral => {
                        let a = self.absorption.expect("oral doses come with an absorption");
                        a.bioavailability * dose.amount * absorbed(&response, a.ka, u)
                    }
                };
            }
        }
        amount
    }

    /// Central concentration at `t`, molecules per m³.
    pub fn concentration(&self, t: f64) -> f64 {
        self.central_amount(t) / self.disposition.central_volume()
    }

    /// What is left of an inhibited release at `t`: `1 − I(C(t))`.
    pub fn release_factor(&self, t: f64) -> f64 {
        1.0 - self.action.at(self.concentration(t))
    }

    /// Molecules given over the whole schedule (before bioavailability).
    pub fn total_dose(&self) -> f64 {
        self.doses
            .iter()
            .map(|d| d.amount * d.times.len() as f64)
            .sum()
    }
}

/// `Σ aᵢ·e^(−λᵢu)`.
fn exponentials(response: &[(f64, f64)], u: f64) -> f64 {
    response.iter().map(|&(a, l)| a * (-l * u).exp()).sum()
}

/// Central amount `u` after the start of a unit-rate infusion of length
/// `len`: `Σ aᵢ·(e^(−λᵢ(u − s)) − e^(−λᵢu))/λᵢ`, `s = min(u, len)`.
fn infused(response: &[(f64, f64)], u: f64, len: f64) -> f64 {
    let s = u.min(len);
    response
        .iter()
        .map(|&(a, l)| a * ((-l * (u - s)).exp() - (-l * u).exp()) / l)
        .sum()
}

/// Central amount `u` after a unit amount reached the gut depot (the
/// Bateman function, one term per disposition exponential):
/// `Σ aᵢ·ka·(e^(−λᵢu) − e^(−ka·u))/(ka − λᵢ)`, or `aᵢ·ka·u·e^(−λᵢu)` when
/// `ka = λᵢ`.
fn absorbed(response: &[(f64, f64)], ka: f64, u: f64) -> f64 {
    response
        .iter()
        .map(|&(a, l)| {
            if ((ka - l) / ka).abs() < 1e-9 {
                a * ka * u * (-l * u).exp()
            } else {
                a * ka * ((-l * u).exp() - (-ka * u).exp()) / (ka - l)
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_compartment() -> Disposition {
        Disposition::TwoCompartment {
            clearance: 2.0,
            volume: 10.0,
            intercompartmental: 3.0,
            peripheral_volume: 30.0,
        }
    }

    /// The bi-exponential starts at the unit dose (its coefficients sum
    /// to 1) and leaves the central compartment at first at
    /// `k10 + k12` (`Σ aᵢλᵢ`), as the two-compartment equations say.
    #[test]
    fn bi_exponential_starts_at_the_dose_with_the_central_outflow() {
        let d = two_compartment();
        let (k10, k12, _) = d.rate_constants();
        let r = d.unit_response();
        let sum: f64 = r.iter().map(|p| p.0).sum();
        let slope: f64 = r.iter().map(|p| p.0 * p.1).sum();
        assert!((sum - 1.0).abs() < 1e-14);
        assert!((slope - (k10 + k12)).abs() < 1e-14 * (k10 + k12));
    }

    /// An infusion's closed form equals the integral of the bolus response
    /// over the infusion (midpoint rule, fine).
    #[test]
    fn infusion_is_the_integral_of_boluses() {
        let r = two_compartment().unit_response();
        let (len, u) = (5.0, 7.0);
        let n = 20_000;
        let h = len / n as f64;
        let sum: f64 = (0..n)
            .map(|i| exponentials(&r, u - (i as f64 + 0.5) * h) * h)
            .sum();
        let exact = infused(&r, u, len);
        assert!((sum - exact).abs() < 1e-8 * exact, "{sum} vs {exact}");
    }

    /// Hill's slope matches a central difference of the action.
    #[test]
    fn hill_slope_matches_finite_differences() {
        let a = DrugAction {
            emax: 0.9,
            ec50: 3.0,
            hill: 2.5,
        };
        for c in [0.5, 3.0, 10.0] {
            let h = 1e-6 * c;
            let fd = (a.at(c + h) - a.at(c - h)) / (2.0 * h);
            assert!((fd - a.slope(c)).abs() < 1e-7, "{fd} vs {}", a.slope(c));
        }
    }
}
