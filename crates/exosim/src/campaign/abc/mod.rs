//! Approximate Bayesian computation for studies whose observables are
//! random (a tissue's cell counts, a cohort's detection): `[design]
//! method = "abc_smc"` (docs/calibration.md#abc-smc).
//!
//! A likelihood cannot be written for a tissue run, and a maximum
//! likelihood search on its noisy values would chase the noise. ABC-SMC
//! needs only runs: parameters drawn from their priors are kept when
//! their run's summaries come within ε of the data, and a sequence of
//! shrinking ε ([`smc`]) turns the kept particles into a weighted sample
//! of the posterior. [`distance`] compares runs with the data; [`prior`]
//! gives each parameter's prior on its working scale; [`run`] runs it
//! for a campaign, saving each generation so that an interrupted
//! calibration resumes.

pub mod distance;
pub mod prior;
pub mod smc;
