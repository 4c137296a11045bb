//! Instruments: what a measurement reports of a vesicle population.
//!
//! An instrument never sees the simulated counts; it sees particles through
//! their size. A [`Sample`] is what the engines hand over (particles per m³
//! of each component, each with a log-normal diameter distribution), and
//! each model turns it into the instrument's reading:
//!
//! - [`nta`]: nanoparticle tracking analysis. Detection rises with
//!   scattering (Rayleigh, ∝ d⁶) past a lower size limit; sizes come from
//!   finite tracks, so the sizing error follows from the number of steps
//!   tracked; the particles per frame say whether the dilution is in the
//!   counting range.
//! - [`flow`]: flow cytometry triggered on scatter: a particle brighter
//!   than the trigger is an event, and many dimmer ones illuminated at once
//!   are one event too (swarm detection, van der Pol et al. 2012).
//! - [`bulk`]: a bulk immunoassay (ELISA-like: total marker signal, a CV and
//!   a limit of detection) and a digital single-vesicle assay (Poisson
//!   counting of partitions read in a sample volume).
//!
//! The module is an engine: it imports foundations only; the couplings
//! build a [`Sample`] from a body arm, the tissue or a draw. Everything is
//! SI (m, m³, s); randomness comes from the stream the caller passes, so a
//! reading is a pure function of the sample, the settings and the seed.

pub mod bulk;
pub mod flow;
pub mod nta;
pub mod size;

pub use size::{
    Component, Histogram, Sample, SizeGrid, SizeStatistics, sigma_of_cv, size_statistics,
};
