//! # exosim
//!
//! A simulator of the exosome system: cells that release extracellular
//! vesicles (EVs), the vesicles' journey through tissue and body, and their
//! uptake by the cells and organs whose surface matches theirs.
//!
//! Data flows one way: a study file ([`scenario`]) is parsed into a raw spec,
//! resolved into a validated model in internal units ([`units`]), advanced by
//! the engines ([`body`] for circulation and biodistribution, [`biopsy`] for
//! blood tests, signatures and deconvolution) and written by the recorders
//! ([`output`]); [`run`] ties these together. Randomness comes from
//! per-entity streams ([`random`]), so results do not depend on thread count.

#![warn(missing_docs)]

pub mod biopsy;
pub mod body;
pub mod campaign;
pub mod coupling;
pub mod drug;
pub mod effect;
mod fast_exp;
pub mod instrument;
pub mod output;
pub mod production;
pub mod random;
pub mod run;
pub mod sbml;
pub mod scenario;
pub mod simd;
pub mod tissue;
pub mod units;

/// The study run by `exosim demo`.
pub const DEMO_STUDY: &str = include_str!("demo.toml");
